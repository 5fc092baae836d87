# SPDX-License-Identifier: MIT
# bash completion for vidrec: subcommands and options come from the binary's
# own --help at each TAB, so they never fall behind the installed version.
# Anything else completes as a file name.

# _vidrec_help WORDS...: `vidrec WORDS --help`, with the binary being completed.
_vidrec_help() {
  "${COMP_WORDS[0]}" "$@" --help 2>/dev/null
}

# _vidrec_subs HELP: the subcommands a --help text lists.
_vidrec_subs() {
  sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z0-9_-]*\) .*/\1/p' <<<"$1"
}

_vidrec() {
  local cur=${COMP_WORDS[COMP_CWORD]} help subs w i
  local -a path=()
  help=$(_vidrec_help)
  # Follow the subcommands typed so far (vidrec sagemaker train ...).
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    subs=$(_vidrec_subs "$help")
    if [[ $w != -* ]] && grep -qx -- "$w" <<<"$subs"; then
      path+=("$w")
      help=$(_vidrec_help "${path[@]}")
    fi
  done
  if [[ $cur == -* ]]; then
    local opts
    opts=$(sed -n 's/^ \{1,\}\(-[^ ]*\).*/\1/p' <<<"$help" | tr ',' '\n' | grep -E '^--?[A-Za-z]')
    mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    return
  fi
  subs=$(_vidrec_subs "$help")
  if [[ -n $subs ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$subs" -- "$cur")
    return
  fi
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}
complete -o filenames -F _vidrec vidrec
