# fish completion for hush. Install: hush completion fish > ~/.config/fish/completions/hush.fish
function __hush_complete
	set -l words (commandline -opc)[2..-1] (commandline -ct)
	hush __complete $words 2>/dev/null
end
complete -c hush -f -a '(__hush_complete)'
