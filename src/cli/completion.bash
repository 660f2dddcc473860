# carapace completion for bash: eval "$(carapace completion bash)" in ~/.bashrc
_carapace_paths=' @PATHS@ '
_carapace() {
  local cur="${COMP_WORDS[COMP_CWORD]}" path="" words="" w i
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="${COMP_WORDS[i]}"
    [[ "$w" == -* ]] && continue
    case "$_carapace_paths" in *" ${path:+$path/}$w "*) path="${path:+$path/}$w" ;; esac
  done
  case "$path" in
    # @CASES@
  esac
  mapfile -t COMPREPLY < <(compgen -W "$words" -- "$cur")
}
complete -F _carapace carapace
