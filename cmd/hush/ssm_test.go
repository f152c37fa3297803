package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/vault/vaulttest"
)

// hushCloud builds the real hush-cloud beside hush-sops (on the scripts'
// PATH, where hush finds it), once for the whole test binary: a rebuild
// would replace the file under a script running it.
var hushCloud = gosync.OnceValues(func() (string, error) {
	sops, err := hushSops()
	if err != nil {
		return "", err
	}
	path := filepath.Join(filepath.Dir(sops), "hush-cloud")
	cmd := exec.Command("go", "build", "-o", path, "./cmd/hush-cloud")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building hush-cloud: %v\n%s", err, out)
	}
	return path, nil
})

// TestSSMScripts runs testdata/script/ssm/*.txtar against a real
// moto_server, through the real hush-cloud, with AWS_ENDPOINT_URL and test
// credentials set and $PREFIX a path no other script uses.
func TestSSMScripts(t *testing.T) {
	t.Parallel()
	m := vaulttest.StartMoto(t, 1<<30)
	if _, err := hushCloud(); err != nil {
		t.Fatal(err)
	}
	// client talks to the moto the script's hush talks to.
	client := func(ts *testscript.TestScript) *ssm.Client {
		url := ts.Getenv("AWS_ENDPOINT_URL")
		return ssm.New(ssm.Options{Region: "us-east-1", BaseEndpoint: &url,
			Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
	}
	var n atomic.Int64
	var mu gosync.Mutex
	private := map[*testscript.TestScript]*vaulttest.Moto{}
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/ssm",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			e.Setenv("AWS_ENDPOINT_URL", m.URL)
			e.Setenv("MOTO_URL", m.URL)
			e.Setenv("AWS_REGION", "us-east-1")
			e.Setenv("AWS_ACCESS_KEY_ID", "testing")
			e.Setenv("AWS_SECRET_ACCESS_KEY", "testing")
			e.Setenv("AWS_CA_BUNDLE", "")
			e.Setenv("AWS_PROFILE", "")
			e.Setenv("AWS_CONFIG_FILE", filepath.Join(e.WorkDir, "no-aws-config"))
			e.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(e.WorkDir, "no-aws-credentials"))
			i := n.Add(1)
			e.Setenv("PREFIX", fmt.Sprintf("/script%d", i))
			e.Setenv("SMNAME", fmt.Sprintf("script%d", i)) // a secret name: no leading slash
			return nil
		},
		Cmds: withScriptCmds(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// ssmget NAME prints a parameter's decrypted value; ! ssmget
			// NAME says it does not exist.
			"ssmget": func(ts *testscript.TestScript, neg bool, args []string) {
				out, err := client(ts).GetParameter(context.Background(), &ssm.GetParameterInput{Name: &args[0], WithDecryption: awssdk.Bool(true)})
				if neg {
					if err == nil {
						ts.Fatalf("%s exists", args[0])
					}
					return
				}
				ts.Check(err)
				fmt.Fprintln(ts.Stdout(), *out.Parameter.Value)
			},
			// ssmput NAME VALUE writes a parameter, as another client would.
			"ssmput": func(ts *testscript.TestScript, neg bool, args []string) {
				_, err := client(ts).PutParameter(context.Background(), &ssm.PutParameterInput{Name: &args[0], Value: &args[1], Type: "SecureString", Overwrite: awssdk.Bool(true)})
				ts.Check(err)
			},
			// motostart runs a moto_server of the script's own and points
			// AWS_ENDPOINT_URL at it; motostop stops it.
			"motostart": func(ts *testscript.TestScript, neg bool, args []string) {
				pm := vaulttest.StartMoto(t, 1<<30)
				mu.Lock()
				private[ts] = pm
				mu.Unlock()
				ts.Setenv("AWS_ENDPOINT_URL", pm.URL)
			},
			"motostop": func(ts *testscript.TestScript, neg bool, args []string) {
				mu.Lock()
				pm := private[ts]
				mu.Unlock()
				if pm == nil {
					ts.Fatalf("motostop without motostart")
				}
				pm.Stop()
			},
			// awssmget NAME prints a Secrets Manager secret's AWSCURRENT
			// string, as another tool would read it.
			"awssmget": func(ts *testscript.TestScript, neg bool, args []string) {
				url := ts.Getenv("AWS_ENDPOINT_URL")
				c := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: &url,
					Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
				// By the version AWSCURRENT is on, as AWS answers: moto
				// 5.2.1's GetSecretValue without a version keeps answering
				// with the version of the last PutSecretValue after a stage
				// move.
				ctx := context.Background()
				d, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &args[0]})
				if neg {
					if err == nil {
						ts.Fatalf("%s exists", args[0])
					}
					return
				}
				ts.Check(err)
				var cur string
				for id, stages := range d.VersionIdsToStages {
					if slices.Contains(stages, "AWSCURRENT") {
						cur = id
					}
				}
				out, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &args[0], VersionId: &cur})
				ts.Check(err)
				fmt.Fprintln(ts.Stdout(), *out.SecretString)
			},
			// awssmput NAME JSON writes a new AWSCURRENT, as another tool would.
			"awssmput": func(ts *testscript.TestScript, neg bool, args []string) {
				url := ts.Getenv("AWS_ENDPOINT_URL")
				c := secretsmanager.New(secretsmanager.Options{Region: "us-east-1", BaseEndpoint: &url,
					Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
				// The way a rotation writes (a pending version, then the
				// stage move): moto 5.2.1 leaves AWSCURRENT on two versions
				// after a plain PutSecretValue that follows a stage move,
				// which AWS never does.
				ctx := context.Background()
				cur, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: &args[0]})
				ts.Check(err)
				var from string
				for id, stages := range cur.VersionIdsToStages {
					if slices.Contains(stages, "AWSCURRENT") {
						from = id
					}
				}
				put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: &args[0], SecretString: &args[1], VersionStages: []string{"AWSPENDING"}})
				ts.Check(err)
				_, err = c.UpdateSecretVersionStage(ctx, &secretsmanager.UpdateSecretVersionStageInput{SecretId: &args[0], VersionStage: awssdk.String("AWSCURRENT"),
					MoveToVersionId: put.VersionId, RemoveFromVersionId: &from})
				ts.Check(err)
			},
			// kmskey VAR [sign] creates a KMS key in moto (a signing key with
			// sign) and sets $VAR to its id.
			"kmskey": func(ts *testscript.TestScript, neg bool, args []string) {
				url := ts.Getenv("AWS_ENDPOINT_URL")
				c := kms.New(kms.Options{Region: "us-east-1", BaseEndpoint: &url,
					Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "")})
				in := &kms.CreateKeyInput{KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt, KeySpec: kmstypes.KeySpecSymmetricDefault}
				if len(args) > 1 && args[1] == "sign" {
					in.KeyUsage, in.KeySpec = kmstypes.KeyUsageTypeSignVerify, kmstypes.KeySpecRsa2048
				}
				out, err := c.CreateKey(context.Background(), in)
				ts.Check(err)
				ts.Setenv(args[0], *out.KeyMetadata.KeyId)
			},
			// cloudyaml SECTION LINE... appends a section to .hush/hush.yaml.
			"cloudyaml": func(ts *testscript.TestScript, neg bool, args []string) {
				p := ts.MkAbs(".hush/hush.yaml")
				f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
				ts.Check(err)
				_, err = f.WriteString(args[0] + ":\n  " + strings.Join(args[1:], "\n  ") + "\n")
				ts.Check(err)
				ts.Check(f.Close())
			},
			// ssmyaml LINE... appends an ssm: section to .hush/hush.yaml.
			"ssmyaml": func(ts *testscript.TestScript, neg bool, args []string) {
				p := ts.MkAbs(".hush/hush.yaml")
				f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
				ts.Check(err)
				_, err = f.WriteString("ssm:\n  " + strings.Join(args, "\n  ") + "\n")
				ts.Check(err)
				ts.Check(f.Close())
			},
		}),
		Condition: scriptCondition,
	})
}
