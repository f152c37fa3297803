# bash completion for hush. Install: hush completion bash > ~/.local/share/bash-completion/completions/hush
_hush() {
	local cur words
	cur="${COMP_WORDS[COMP_CWORD]}"
	words=("${COMP_WORDS[@]:1:COMP_CWORD}")
	local IFS=$'\n'
	COMPREPLY=($(hush __complete "${words[@]}" 2>/dev/null))
	if [ ${#COMPREPLY[@]} -eq 0 ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}
complete -o filenames -F _hush hush
