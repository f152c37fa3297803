// Package inject runs a program with secrets: it builds the child's
// environment, execs or supervises the child (signals, exit codes), masks
// secret values in its output, hands secrets over as in-memory files, and
// reads and writes the env file, JSON, YAML, shell, docker, Kubernetes and
// GitHub Actions formats.
//
// It works on plain values handed to it and imports nothing of hush: the
// caller decrypts, audits and decides; inject never prints, exits or reads
// the process environment itself. A secret value travels as a Value, whose
// formatting methods print "[redacted]"; Reveal is the one way to its bytes.
// No error from this package contains a value.
//
// # hush run
//
// The CLI's run command is, in outline:
//
//	secrets := …                                      // []inject.Secret from the store
//	for _, f := range fileFlags {                     // --file VAR=KEY
//		sf, err := inject.NewSecretFile(f.Key, value) // memfd on Linux, FIFO elsewhere
//		defer sf.Close()
//		files = append(files, sf)
//		secrets = append(secrets, inject.Secret{Name: f.Var, Value: inject.NewValue(sf.Path())})
//	}
//	env, err := inject.BuildEnv(inject.EnvOptions{
//		Parent: environ, Hidden: identityVars, Files: envFileVars,
//		Secrets: secrets, Pristine: …, NoOverride: …,
//		Only: …, Except: …, Allow: …,
//		Resolve: func(envName, key string) (inject.Value, error) { … }, // hush://ENV/KEY
//	})
//	// warn about env.Dropped (dangerous names, see IsDangerous), env.Kept
//	// and env.Literal (store values that look like references)
//	var mask *inject.Masker
//	if masking {
//		var short []string
//		mask, short = inject.NewMasker(env.Injected) // warn about short: not masked
//	}
//	code, err := inject.Run(ctx, inject.Spec{
//		Argv: args, Env: env.Environ,
//		Stdin: stdin, Stdout: stdout, Stderr: stderr, // os.Stdin… to allow exec
//		Files: files, Mask: mask, Stay: leaseNeedsRenewal,
//	})
//	if err != nil { print "hush: " + err } // a *StartError: code is 125, 126 or 127
//	return code                           // the child's code, or 128+N
//
// Run execs the child in hush's place when nothing needs hush to stay;
// otherwise it supervises. ForwardedSignals documents which signals are
// passed on and how double delivery is avoided. On GitHub Actions, write
// WriteGitHubMasks to stderr before the child runs (see its comment).
//
// # hush export and hush import
//
// Export writes secrets in one of Formats, sorted by name, refusing with an
// *ExportError (naming the key, never the value) what a format cannot carry;
// the loader policy (IsDangerous, Allowed) applies to the formats that become
// an environment (Format.SetsEnv), as to hush run.
// Import (ParseDotenv, ParseJSON, ParseYAML) reads env files (dotenv in the
// dialect the mainstream readers agree on, see ParseDotenv), refusing NUL
// bytes, invalid names and what the readers disagree on too much with a
// *ParseError that carries the line, and reports duplicate keys and, for
// dotenv, the keys whose reading some reader would not share (Disputed).
// CheckDotenv reads a dotenv file again with an independent parser. FindSecretRefs lists
// imported values that are hush://ENV/KEY references.
package inject
