package session

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/hush-secrets/hush/store"
)

// ssmKind is AWS SSM Parameter Store: the ssm: section of hush.yaml
// (pinned: it says where values are sent), one SecureString per key at
// PREFIX/ENV/KEY, the prefix /PROJECT unless set.
var ssmKind = CloudKind{
	Name:         "ssm",
	Title:        "AWS SSM Parameter Store",
	Hint:         "is SSM reachable with these credentials? check AWS_REGION (or ssm.region), AWS_PROFILE or AWS_ACCESS_KEY_ID, and AWS_ENDPOINT_URL if set",
	LocationFlag: "prefix", LocationUsage: "where environments live in AWS SSM Parameter Store (default: hush.yaml's ssm.prefix, then /PROJECT)",
	Region: true,
	About: `An environment lives under PREFIX/ENV in AWS SSM Parameter Store, one
SecureString parameter per key (PREFIX/ENV/KEY); the prefix is the ssm:
section of .hush/hush.yaml (pinned: a change must be acknowledged with hush
ack), or /PROJECT. Credentials come from the AWS default chain
(environment, profile, SSO, roles); AWS_ENDPOINT_URL is honoured.

In hush run, ssm:///PATH/TO/PARAM (or ?version=N) in the environment or an
--env-file is read from SSM.`,
	Config: func(section any, project string, o CloudOptions) (json.RawMessage, func(string) string, string, error) {
		var c struct {
			Prefix   string `yaml:"prefix" json:"prefix"`
			Region   string `yaml:"region,omitempty" json:"region,omitempty"`
			Tier     string `yaml:"tier,omitempty" json:"tier,omitempty"`
			KMSKeyID string `yaml:"kms_key_id,omitempty" json:"kms_key_id,omitempty"`
		}
		if err := decodeSection(section, &c); err != nil {
			return nil, nil, "", fmt.Errorf("%w: .hush/hush.yaml: ssm: %v", store.ErrInvalid, err)
		}
		if o.Location != "" {
			c.Prefix = o.Location
		}
		if o.Region != "" {
			c.Region = o.Region
		}
		if c.Prefix == "" {
			if project == "" {
				return nil, nil, "", Usagef("outside a project, say where: --prefix /PATH")
			}
			c.Prefix = "/" + project
		}
		c.Prefix = strings.TrimSuffix(c.Prefix, "/")
		b, err := json.Marshal(c)
		prefix, region := c.Prefix, c.Region
		source := "ssm"
		if region != "" {
			source += ":" + region
		}
		return b, func(env string) string { return "ssm://" + prefix + "/" + env }, source, err
	},
}
