package main

// completionScripts are the shell scripts `hush completion SHELL` prints;
// copies are committed under completions/ and a test keeps them current.
var completionScripts = map[string]string{
	"bash": `# bash completion for hush. Install: hush completion bash > ~/.local/share/bash-completion/completions/hush
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
`,
	"zsh": `#compdef hush
# zsh completion for hush. Install: hush completion zsh > "${fpath[1]}/_hush"
_hush() {
	local -a cands
	cands=("${(@f)$(hush __complete "${(@)words[2,CURRENT]}" 2>/dev/null)}")
	if [[ -n "${cands[1]}" ]]; then
		compadd -- "${cands[@]}"
	else
		_files
	fi
}
if [[ "$funcstack[1]" = "_hush" ]]; then
	_hush "$@"
else
	compdef _hush hush
fi
`,
	"fish": `# fish completion for hush. Install: hush completion fish > ~/.config/fish/completions/hush.fish
function __hush_complete
	set -l words (commandline -opc)[2..-1] (commandline -ct)
	hush __complete $words 2>/dev/null
end
complete -c hush -f -a '(__hush_complete)'
`,
	"powershell": `# PowerShell completion for hush. Install: hush completion powershell >> $PROFILE
Register-ArgumentCompleter -Native -CommandName hush -ScriptBlock {
	param($wordToComplete, $commandAst, $cursorPosition)
	$words = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
	if ($wordToComplete -eq '') { $words += '' }
	hush __complete @words 2>$null | ForEach-Object {
		[System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
	}
}
`,
}
