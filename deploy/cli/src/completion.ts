/**
 * `loomwatch completion`: a bash completion script. Commands, subcommands, modes and benchmark
 * names are written into it; a command's options are read from its own `--help` when asked for
 * (a word starting with `-`), so they never drift from what the command accepts.
 */
import { BENCHES, COMMANDS, firstWords } from './commands.js';

export function bashCompletion(): string {
  const commands = [...COMMANDS.map((command) => command.name), 'bench', 'completion'].join(' ');
  const cases = [...COMMANDS.filter((command) => firstWords(command).length > 0).map((command) => [command.name, firstWords(command)] as const), ['bench', Object.keys(BENCHES)] as const]
    .map(([name, words]) => `      ${name}) words="${words.join(' ')}" ;;`)
    .join('\n');
  return `# bash completion for loomwatch: eval "$(loomwatch completion)" (e.g. in ~/.bashrc)
_loomwatch() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmd=\${COMP_WORDS[1]} words="" help
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands}" -- "$cur"))
    return
  fi
  if [ "$COMP_CWORD" -eq 2 ] && [[ $cur != -* ]]; then
    case $cmd in
${cases}
    esac
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    help=("$cmd")
    [[ \${COMP_WORDS[2]} != -* ]] && [ "$COMP_CWORD" -gt 2 ] && help+=("\${COMP_WORDS[2]}")
    words=$("\${COMP_WORDS[0]}" "\${help[@]}" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -o default -F _loomwatch loomwatch
`;
}
