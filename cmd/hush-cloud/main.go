// Command hush-cloud is hush's companion for the code too heavy for hush
// itself: the remote stores' SDKs (AWS SSM Parameter Store and Secrets
// Manager, GCP Secret Manager, Kubernetes), AWS KMS, and the rotation
// providers with drivers of their own (PostgreSQL, MySQL/MariaDB, ACME).
// hush runs it when a command uses one of them and talks to it over stdin
// and stdout (see package sync/cloud); it is not meant to be run by hand.
package main

import (
	"os"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/crypt/awskms"
	"github.com/hush-secrets/hush/rotate"
	"github.com/hush-secrets/hush/rotate/acme"
	"github.com/hush-secrets/hush/rotate/mysql"
	"github.com/hush-secrets/hush/rotate/postgres"
	"github.com/hush-secrets/hush/sync/aws"
	"github.com/hush-secrets/hush/sync/cloud"
	"github.com/hush-secrets/hush/sync/gcpsm"
	"github.com/hush-secrets/hush/sync/k8s"
)

// drivers is every kind hush-cloud serves. A new kind is one line here.
var drivers = map[string]cloud.Driver{
	"ssm":   aws.SSMDriver{},
	"awssm": aws.SecretsManagerDriver{},
	"gcpsm": gcpsm.Driver{},
	"k8s":   k8s.Driver{},
}

// keys is every key service hush-cloud serves, for KMS recipients.
var keys = map[string]cloud.KeyDriver{
	crypt.KindAWSKMS: &awskms.Driver{},
}

// providers is every rotation provider hush-cloud runs (session's
// companionProviders names the same).
var providers = map[string]rotate.Factory{
	"postgres": postgres.New,
	"mysql":    mysql.New,
	"mariadb":  mysql.New,
	"acme":     acme.New,
}

func main() {
	harden()
	os.Exit(cloud.Serve(cloud.Services{Drivers: drivers, Keys: keys, Providers: providers}, os.Stdin, os.Stdout, os.Stderr))
}
