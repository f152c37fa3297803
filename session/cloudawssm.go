package session

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// awssmKind is AWS Secrets Manager: the awssm: section of hush.yaml
// (pinned: it says where values are sent), one secret per environment
// holding a JSON object of its keys, named from a template with {env}
// (default PROJECT/{env}).
var awssmKind = CloudKind{
	Name:         "awssm",
	Title:        "AWS Secrets Manager",
	Hint:         "is Secrets Manager reachable with these credentials? check AWS_REGION (or awssm.region), AWS_PROFILE or AWS_ACCESS_KEY_ID, and AWS_ENDPOINT_URL if set",
	LocationFlag: "name", LocationUsage: "`NAME` of an environment's secret, with {env} for the environment (default: hush.yaml's awssm.name, then PROJECT/{env})",
	Region: true,
	About: `An environment is one secret in AWS Secrets Manager holding a JSON object
of its keys (a push lands whole or not at all; AWSCURRENT and AWSPREVIOUS
are whole environments), named by the awssm: section of .hush/hush.yaml
(name: myapp/{env}; pinned: a change must be acknowledged with hush ack),
or PROJECT/{env}. Credentials come from the AWS default chain; the
endpoint from AWS_ENDPOINT_URL_SECRETS_MANAGER or AWS_ENDPOINT_URL.

In hush run, awssm://NAME#KEY (?version-stage=AWSPREVIOUS, ?version-id=ID;
no #KEY: the whole value) in the environment or an --env-file is read from
Secrets Manager.`,
	Config: func(section any, project string, o CloudOptions) (json.RawMessage, func(string) string, string, error) {
		var c struct {
			Name     string `yaml:"name" json:"name"`
			Region   string `yaml:"region,omitempty" json:"region,omitempty"`
			Endpoint string `yaml:"endpoint,omitempty" json:"endpoint,omitempty"`
			KMSKeyID string `yaml:"kms_key_id,omitempty" json:"kms_key_id,omitempty"`
			Project  string `yaml:"-" json:"project,omitempty"`
		}
		if err := decodeSection(section, &c); err != nil {
			return nil, nil, "", fmt.Errorf("%w: .hush/hush.yaml: awssm: %v", store.ErrInvalid, err)
		}
		if o.Location != "" {
			c.Name = o.Location
		}
		if o.Region != "" {
			c.Region = o.Region
		}
		if c.Name == "" {
			if project == "" {
				return nil, nil, "", Usagef("outside a project, say where: --name NAME/{env}")
			}
			c.Name = project + "/{env}"
		}
		if !strings.Contains(c.Name, "{env}") {
			return nil, nil, "", Usagef("awssm name %q has no {env}: every environment would be the same secret", c.Name)
		}
		c.Project = project
		b, err := json.Marshal(c)
		name, source := c.Name, "awssm"
		if c.Region != "" {
			source += ":" + c.Region
		}
		return b, func(env string) string { return "awssm://" + strings.ReplaceAll(name, "{env}", env) }, source, err
	},
}
