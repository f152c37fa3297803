package inject

import (
	"errors"
	"strings"
	"testing"
)

func TestIsDangerous(t *testing.T) {
	t.Parallel()
	dangerous := []string{
		// the list
		"MAKEFLAGS", "MFLAGS", "GNUMAKEFLAGS", "MAKEFILES", "CC", "CXX", "LD", "CPP", "AR",
		"GIT_DIR", "GIT_WORK_TREE", "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_CONFIG",
		"GIT_CONFIG_GLOBAL", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0", "GIT_CONFIG_VALUE_0", "GIT_CONFIG_PARAMETERS",
		"RUSTC_WRAPPER", "RUSTC", "CARGO_BUILD_RUSTC_WRAPPER", "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUNNER", "CARGO_HOME",
		"npm_config_script_shell", "NPM_CONFIG_REGISTRY", "npm_config_cafile",
		"NODE_TLS_REJECT_UNAUTHORIZED", "HTTP_PROXY", "https_proxy", "ALL_PROXY", "no_proxy", "GRPC_PROXY",
		"SSLKEYLOGFILE", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "REQUESTS_CA_BUNDLE",
		"NODE_EXTRA_CA_CERTS", "GIT_SSL_CAINFO", "GIT_SSL_NO_VERIFY", "AWS_CA_BUNDLE",
		"VIMINIT", "EXINIT", "PS0", "PS1", "PS4", "PROMPT_COMMAND", "BASH_ENV", "ENV",
		"PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME", "PYTHONHTTPSVERIFY", "PERL5OPT", "PERL5LIB", "PERL5DB",
		"RUBYOPT", "RUBYLIB", "JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "GCONV_PATH",
		// loaders, shells, runtimes
		"LD_PRELOAD", "ld_preload", "LD_LIBRARY_PATH", "DYLD_INSERT_LIBRARIES", "BASH_FUNC_ls%%", "PATH", "Path",
		"NODE_OPTIONS", "node_options", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN", "CGO_LDFLAGS", "CFLAGS", "LDFLAGS",
		"DOTNET_STARTUP_HOOKS", "CORECLR_PROFILER_PATH", "COR_PROFILER", "LUA_INIT_5_4", "PHPRC",
		"PIP_INDEX_URL", "UV_INDEX_URL", "BUNDLE_GEMFILE", "CMAKE_C_COMPILER_LAUNCHER", "CCACHE_PREFIX",
		"HOME", "XDG_CONFIG_HOME", "TMPDIR", "SHELL", "HISTFILE", "ZDOTDIR", "INPUTRC",
		"EDITOR", "PAGER", "LESSOPEN", "GIT_PAGER", "GIT_ASKPASS", "SSH_ASKPASS", "TAR_OPTIONS", "RSYNC_RSH",
		"KUBECONFIG", "DOCKER_HOST", "AWS_CONFIG_FILE", "VAULT_ADDR", "GNUPGHOME", "NETRC",
		"GITHUB_ENV", "GITHUB_PATH", "GITHUB_OUTPUT", "ACTIONS_ID_TOKEN_REQUEST_URL",
		"HUSH_IDENTITY", "HUSH_IDENTITY_FILE", "HUSH_ENV", "hush_keyring",
	}
	for _, n := range dangerous {
		if !IsDangerous(n) {
			t.Errorf("IsDangerous(%q) = false", n)
		}
	}
	safe := []string{
		"DB_PASSWORD", "API_KEY", "STRIPE_KEY", "DATABASE_URL", "NODE_ENV", "RAILS_ENV", "GITHUB_TOKEN",
		"NPM_TOKEN", "CARGO_REGISTRY_TOKEN", "CARGO_REGISTRIES_MY_REG_TOKEN", "AWS_ACCESS_KEY_ID",
		"AWS_SECRET_ACCESS_KEY", "GOOGLE_APPLICATION_CREDENTIALS", "SENTRY_DSN", "PROXY_TIMEOUT",
		"LDAP_PASSWORD", "CCACHE", "ENVIRONMENT", "PATH_PREFIX", "HOMEPAGE_URL", "GIT_TOKEN",
	}
	for _, n := range safe {
		if IsDangerous(n) {
			t.Errorf("IsDangerous(%q) = true", n)
		}
	}
}

func TestAllowed(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name  string
		allow []string
		want  bool
	}{
		{"DB_PASSWORD", nil, true},
		{"MAKEFLAGS", nil, false},
		{"MAKEFLAGS", []string{"MAKEFLAGS"}, true},
		{"http_proxy", []string{"HTTP_PROXY"}, true}, // names compare without case
		{"HTTPS_PROXY", []string{"HTTP_PROXY"}, false},
		{"NODE_OPTIONS", []string{"NODE_*"}, false}, // allow_inject names, it does not match patterns
	} {
		if got := Allowed(tt.name, tt.allow); got != tt.want {
			t.Errorf("Allowed(%q, %q) = %v", tt.name, tt.allow, got)
		}
	}
}

// TestExportPolicy: one policy for run and every export that becomes an
// environment; json and yaml are data and carry everything.
func TestExportPolicy(t *testing.T) {
	t.Parallel()
	secrets := sec("MAKEFLAGS", "--eval=$(shell touch /tmp/pwned)", "OK", "fake-ok")
	for _, f := range Formats {
		var buf strings.Builder
		err := Export(&buf, f, secrets, ExportOptions{Name: "app"})
		var ee *ExportError
		switch f {
		case FormatShell, FormatGitHub, FormatDotenv, FormatDocker, FormatK8s:
			if !f.SetsEnv() || !errors.As(err, &ee) || ee.Key != "MAKEFLAGS" || buf.Len() != 0 {
				t.Errorf("%s: err %v, wrote %d bytes; want the policy to refuse MAKEFLAGS", f, err, buf.Len())
			}
			if err := Export(&buf, f, secrets, ExportOptions{Name: "app", Allow: []string{"MAKEFLAGS"}}); err != nil {
				t.Errorf("%s with allow: %v", f, err)
			}
		case FormatJSON, FormatYAML:
			if f.SetsEnv() || err != nil || !strings.Contains(buf.String(), "MAKEFLAGS") {
				t.Errorf("%s: err %v; want data formats to carry every name", f, err)
			}
		default:
			t.Errorf("format %s: decide whether the loader policy applies", f)
		}
	}
}
