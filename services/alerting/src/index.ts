export { AlertEngine, alertIdOf, dedupKeyOf, type AlertEvent, type EngineState } from './engine.js';
export { Rule, Rules, Shift, inSchedule, inShift, ruleMatches, type RuleOf } from './rules.js';
