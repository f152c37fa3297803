package inject

import (
	"strings"
)

// The loader-variable policy: one table, used by BuildEnv for hush run and
// by Export (and its callers, through Allowed and Format.SetsEnv) for every
// export whose output becomes a process environment. A secret comes from a store that every member of
// its environment can write; a variable that decides which code runs, which
// server a tool trusts or where it writes must not arrive that way silently,
// or a dev-only member could run code on a prod member's machine with
// `hush run -- make`. Such names are dropped, with a warning, unless
// hush.yaml's allow_inject names them.
//
// Names are compared without regard to case: Windows ignores it, and many
// tools read both spellings (http_proxy and HTTP_PROXY, npm_config_* and
// NPM_CONFIG_*). A false alarm costs an allow_inject line; a miss costs the
// machine.

// loaderNames are single variables, upper-cased.
var loaderNames = setOf(
	// Shells: start-up files, prompts and hooks run code; history and
	// traces write files.
	"BASH_ENV", "ENV", "SHELLOPTS", "BASHOPTS", "PS0", "PS1", "PS2", "PS3", "PS4",
	"PROMPT_COMMAND", "IFS", "CDPATH", "GLOBIGNORE", "ZDOTDIR", "FPATH",
	"INPUTRC", "HISTFILE", "FCEDIT", "BASH_XTRACEFD", "BASH_LOADABLES_PATH", "SHELL", "PATH",
	"HOME", "TMPDIR", "TMP", "TEMP", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "XDG_DATA_HOME",
	"XDG_DATA_DIRS", "USERPROFILE", "APPDATA", "LOCALAPPDATA", "COMSPEC", "PATHEXT", "PSMODULEPATH",
	// The C library and TLS: loadable modules, resolver files, trust
	// anchors, key logs.
	"GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF",
	"OPENSSL_CONF", "OPENSSL_ENGINES", "OPENSSL_MODULES", "SSLKEYLOGFILE",
	"CURL_CA_BUNDLE", "CURL_HOME", "REQUESTS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS", "AWS_CA_BUNDLE",
	"HTTPLIB2_CA_CERTS", "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH", "DENO_CERT", "WGETRC", "NETRC",
	"NODE_TLS_REJECT_UNAUTHORIZED", "GNUPGHOME", "SSH_AUTH_SOCK",
	// Interpreters and runtimes.
	"NODE_OPTIONS", "NODE_PATH", "NODE_REPL_EXTERNAL_MODULE", "NODE_REDIRECT_WARNINGS",
	"NODE_REPL_HISTORY", "NODE_V8_COVERAGE", "NODE_ICU_DATA",
	"PERLLIB", "RUBYLIB", "RUBYOPT", "RUBYSHELL", "GEM_HOME", "GEM_PATH",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS", "JAVA_HOME", "CLASSPATH",
	"GRADLE_OPTS", "GRADLE_USER_HOME", "MAVEN_OPTS", "MAVEN_ARGS", "ANT_OPTS", "SBT_OPTS",
	"DOTNET_STARTUP_HOOKS", "DOTNET_ADDITIONAL_DEPS", "DOTNET_SHARED_STORE", "DOTNET_ROOT",
	"COR_ENABLE_PROFILING", "PHPRC", "PHP_INI_SCAN_DIR",
	"R_PROFILE", "R_PROFILE_USER", "R_ENVIRON", "R_ENVIRON_USER", "R_LIBS", "R_LIBS_USER",
	"EMACSLOADPATH", "TCLLIBPATH",
	// Build tools and compilers: make's flags run $(shell …), a compiler
	// variable names the program run, flags load plugins.
	"MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "MAKEFILES", "MAKEOVERRIDES",
	"CC", "CXX", "CPP", "LD", "AR", "AS", "NM", "RANLIB", "STRIP", "OBJCOPY", "OBJDUMP",
	"READELF", "FC", "F77", "YACC", "LEX", "M4", "CROSS_COMPILE",
	"CFLAGS", "CXXFLAGS", "CPPFLAGS", "LDFLAGS", "FFLAGS",
	"PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR",
	"RUSTC", "RUSTC_WRAPPER", "RUSTC_WORKSPACE_WRAPPER", "RUSTDOC", "RUSTFLAGS", "RUSTDOCFLAGS",
	"GOFLAGS", "GOTOOLCHAIN", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GONOSUMCHECK", "GONOPROXY",
	"GOPRIVATE", "GOINSECURE", "GOENV", "GOROOT", "GOPATH", "GOBIN", "GOCACHE", "GOMODCACHE",
	"GOWORK", "GOVCS", "GODEBUG", "GOEXPERIMENT", "GCCGO", "TAR_OPTIONS",
	// Version control and remote shells: commands to run, repositories
	// to act on, configuration to load.
	"GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY",
	"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_NAMESPACE",
	"GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM", "GIT_EXEC_PATH",
	"GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_ASKPASS", "GIT_PROXY_COMMAND",
	"GIT_EXTERNAL_DIFF", "GIT_TEMPLATE_DIR", "GIT_PAGER", "GIT_EDITOR", "GIT_SEQUENCE_EDITOR",
	"GIT_CURL_VERBOSE", "GIT_ALLOW_PROTOCOL", "GIT_PROTOCOL_FROM_USER",
	"GIT_CLONE_PROTECTION_ACTIVE", "GIT_REPLACE_REF_BASE",
	"HGRCPATH", "HGEDITOR", "CVS_RSH", "SVN_SSH", "RSYNC_RSH", "RSYNC_CONNECT_PROG",
	"SSH_ASKPASS", "SSH_ASKPASS_REQUIRE", "SUDO_ASKPASS",
	// Programs that run an editor, a pager or a browser named here.
	"PAGER", "MANPAGER", "SYSTEMD_PAGER", "EDITOR", "VISUAL", "BROWSER", "VIMINIT", "EXINIT",
	"GVIMINIT", "MYVIMRC", "VIMRUNTIME", "VIM", "LESS", "LESSOPEN", "LESSCLOSE", "LESSKEY",
	"LESSKEYIN", "LESSKEY_CONTENT", "LESSEDIT",
	// Where tools send credentials or fetch code: cloud and cluster
	// configuration that runs credential helpers, daemons that receive
	// every command.
	"KUBECONFIG", "DOCKER_HOST", "DOCKER_CONFIG", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE",
	"VAULT_ADDR", "VAULT_CACERT", "VAULT_CAPATH", "VAULT_SKIP_VERIFY", "TF_CLI_CONFIG_FILE",
	"TF_PLUGIN_CACHE_DIR", "YARN_RC_FILENAME", "YARN_YARN_PATH",
	// GitHub Actions: the files a step's commands append to, and the
	// runner's own token endpoints.
	"GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "GITHUB_STATE", "GITHUB_STEP_SUMMARY",
)

// loaderPrefixes are families, upper-cased.
var loaderPrefixes = []string{
	"LD_", "DYLD_", "BASH_FUNC_", // dynamic loaders; bash's exported functions
	"GIT_CONFIG", "GIT_TRACE", "GIT_SSL_", "GIT_ATTR_", // config entries (core.sshCommand…), trace files, TLS
	"SSL_CERT_",                // OpenSSL's trust anchors
	"PYTHON", "PERL5", "PERL_", // PYTHONPATH, PYTHONSTARTUP, PERL5OPT, PERL5LIB…
	"NPM_CONFIG_", "PIP_", "UV_", "BUNDLE_", // package managers: registries, scripts, CA files
	"CARGO_", "RUSTUP_", "CGO_", "CMAKE_", "CCACHE_",
	"CORECLR_", "COR_PROFILER", "COMPLUS_", // .NET profilers
	"LUA_INIT", "LUA_PATH", "LUA_CPATH",
	"ACTIONS_", // GitHub Actions runtime (ACTIONS_ID_TOKEN_REQUEST_URL…)
	"HUSH_",    // hush's own: a store must not pick a nested hush's identity or environment
}

// prefixesByFirst are loaderPrefixes by their first byte: hush run asks
// about every injected name, and most names start with a letter no
// prefix does. A pointer: the 6 KiB table returned by value was built in
// the package init's frame, 10 KiB, which made every hush command grow
// its main stack before main.
var prefixesByFirst = func() *[256][]string {
	t := new([256][]string)
	for _, p := range loaderPrefixes {
		t[p[0]] = append(t[p[0]], p)
	}
	return t
}()

// loaderSuffixes: HTTP_PROXY, https_proxy, ALL_PROXY, NO_PROXY… send
// traffic, and the credentials in it, through another host.
var loaderSuffixes = []string{"_PROXY"}

// loaderExempt are names in a family above that carry only a credential
// and change nothing about what runs: a registry token is what a store is
// for.
func loaderExempt(upper string) bool {
	if upper == "CARGO_REGISTRY_TOKEN" {
		return true
	}
	if rest, ok := strings.CutPrefix(upper, "CARGO_REGISTRIES_"); ok && strings.HasSuffix(rest, "_TOKEN") {
		return true
	}
	return false
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// IsDangerous reports whether a variable named name changes which code
// programs load or run, which servers they trust, or where they send or
// write data (LD_PRELOAD, BASH_ENV, MAKEFLAGS, GIT_DIR, HTTPS_PROXY,
// SSL_CERT_FILE, PYTHONPATH…), in any case.
func IsDangerous(name string) bool {
	u := strings.ToUpper(name)
	if loaderExempt(u) {
		return false
	}
	if loaderNames[u] {
		return true
	}
	if u == "" {
		return false
	}
	for _, p := range prefixesByFirst[u[0]] {
		if strings.HasPrefix(u, p) {
			return true
		}
	}
	for _, s := range loaderSuffixes {
		if strings.HasSuffix(u, s) {
			return true
		}
	}
	return false
}

// Allowed reports whether a secret named name may be set in a child's
// environment or an environment-shaped export: it is not dangerous, or
// allow (hush.yaml's allow_inject) names it, in any case.
func Allowed(name string, allow []string) bool {
	if !IsDangerous(name) {
		return true
	}
	for _, a := range allow {
		if strings.EqualFold(a, name) {
			return true
		}
	}
	return false
}

// SetsEnv reports whether a format's output is meant to become a process
// environment, so the loader policy applies to it as to hush run:
//
//   - shell: eval'd by a shell, which also runs PROMPT_COMMAND, BASH_ENV…;
//   - github: appended to $GITHUB_ENV, the environment of every later step
//     and of the actions they use;
//   - dotenv: loaded by dotenv libraries, docker compose and `set -a; .`;
//   - docker: docker run --env-file;
//   - k8s: a Secret, put in containers' environments with envFrom.
//
// json and yaml are data, read by programs that know what they are reading;
// they carry every secret, so an export to another tool loses nothing.
func (f Format) SetsEnv() bool {
	switch f {
	case FormatShell, FormatGitHub, FormatDotenv, FormatDocker, FormatK8s:
		return true
	}
	return false
}
