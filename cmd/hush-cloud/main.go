// Command hush-cloud is hush's companion for the remote stores whose SDKs
// are too heavy for hush itself (AWS SSM Parameter Store; Secrets Manager,
// GCP Secret Manager and Kubernetes as they are added). hush runs it when
// a command uses one of them and talks to it over stdin and stdout (see
// package sync/cloud); it is not meant to be run by hand.
package main

import (
	"os"

	"github.com/hush-secrets/hush/crypt"
	"github.com/hush-secrets/hush/crypt/awskms"
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

func main() {
	harden()
	os.Exit(cloud.Serve(drivers, keys, os.Stdin, os.Stdout, os.Stderr))
}
