/**
 * Whether this process is going away for good. A static member's graceful stop keeps its place in
 * the group (its partitions wait for it to come back under the same id, within the session
 * timeout), which is right for a restart and wrong for a member removed for good (a scale-down):
 * its partitions would sit unread until the session times out. The process says which, once,
 * before it stops its processors; they read it when they stop (see `StopOptions.leaveGroup`).
 */
let leaving = false;

/** From now on every processor of this process that stops leaves its group, static members too. */
export function leaveGroupsOnStop(): void {
  leaving = true;
}

/** Whether {@link leaveGroupsOnStop} was called. */
export function leavingGroupsOnStop(): boolean {
  return leaving;
}
