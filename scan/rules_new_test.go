package scan

import "testing"

// TestNewFormats: the formats issue 17 found without a rule, each with a
// lookalike. Every value is fake: random text in the documented shape.
func TestNewFormats(t *testing.T) {
	t.Parallel()
	s := newTestScanner(t, Config{})
	cases := []struct {
		rule, text string
		want       bool
	}{
		{"gitlab-incoming-mail-token", "glimt-kq8jdxmpqwlzrtnbvchsfdga3", true},
		{"gitlab-cicd-job-token", "CI_JOB_TOKEN=glcbt-64_kQ8jdXmpQwLzRtNbVcHs", true},
		{"gitlab-cicd-job-token", "glcbt-kQ8jdXmpQwLzRtNbVcHs", true},
		{"gitlab-kubernetes-agent-token", "glagent-kQ8jdXmpQwLzRtNbVcHsFdGaPe3Ky7Wn2Bv5Mc9Lx4Tz6Rq1Sj", true},
		{"gitlab-scim-token", "glsoat-kQ8jdXmpQwLzRtNbVcHs", true},
		{"gitlab-feature-flag-client-token", "glffct-kQ8jdXmpQwLzRtNbVcHs", true},
		{"gitlab-session-cookie", "Cookie: _gitlab_session=0f3a9c2b7e1d4f8a6b5c0e9d2f7a1b4c", true},
		{"gitlab-runner-registration-token", "GR1348941kQ8jdXmpQwLzRtNbVcHs", true},
		{"gitlab-runner-registration-token", "GR1348941aaaaabbbbbaaaaabbbbb", false},
		{"mailgun-public-key", "pubkey-0f3a9c2b7e1d4f8a6b5c0e9d2f7a1b4c", true},
		{"slack-token", "xoxa-2-3816092475-5402913867214-Hx7Lp2Qw9Ks4Vb6NmRt3Zy8W", true},
		{"slack-token", "xoxr-3816092475-kQ8jdXmpQwLzRtNbVcHsFd3Ga", true},
		{"slack-token", "see the xoxr-refresh-token docs", false},
		{"slack-workflow-webhook-url", "https://hooks.slack.com/workflows/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", true},
		{"square-access-token-eaaa", "EAAAXQpJzNIBnjjYgH7w1FOqlQGtWpKeshykP8Z38qouC9ujYZpzhDLY7uje4JQ5", true},
		{"hashicorp-vault-token", "VAULT_TOKEN=hvs.kQ8jdXmpQwLzRtNbVcHsFd3G", true},
		{"hashicorp-vault-token-legacy", "VAULT_TOKEN=s.kQ8jdXmpQwLzRtNbVcHsFd3G", true},
		{"hashicorp-vault-token-legacy", "vault_path: s.secret.data.app.config", false},
		{"twitter-bearer-token", "AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI%3DEUifiRBkKG5E2XzMDjRfl76ZC9Ub0wnz4XsNiRVBChTYbJcE3F", true},
		{"twitter-bearer-token", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
		{"twitter-credential", "TWITTER_CONSUMER_SECRET=kQ8jdXmpQwLzRtNbVcHsFd3Ga7Pe2Ky9Wn4Bv5Mc1Lx6Tz0Rq8", true},
		{"onepassword-secret-key", "A3-ASWWYB-798JRYLJVD4-23DC2-86TVM-H43EB", true},
		{"onepassword-secret-key", "A3-XXXXXX-XXXXXXXXXXX-XXXXX-XXXXX-XXXXX", false},
		{"aws-bedrock-api-key", "ABSK" + "QmVkcm9ja0FQSUtleS1rUThqZFhtcFF3THpSdE5iVmNIc0ZkM0dhN1BlMkt5OVduNEJ2NU1jMUx4NlR6MFJxOFNqM0h1NVlpN09hMkRlNHQ9", true},
		{"jwt-base64", "ZXlKaGJHY2lPaUpJVXpJMU5pSjkuZXlKemRXSWlPaUpyVVRocVpGaHRjRkYzVEhwU2RFNWlWbU5JY3lKOS5rUThqZFhtcFF3THpSdE5iVmNIc0ZkM0dhN1Bl", true},
		{"jwt-base64", "ZXlKaGJHY2lPaUpJVXpJMU5pSjkuaGVsbG8gd29ybGQgdGhpcyBpcyBub3QgYSB0b2tlbiBhdCBhbGwgcmVhbGx5", false},
		{"http-authorization", `curl -H "Authorization: Bearer kQ8jdXmpQwLzRtNbVcHsFd3Ga7Pe2Ky9" https://api.test`, true},
		{"http-authorization", "Authorization: Basic ZGVwbG95OmtROGpkWG1wUXdMelJ0TmI=", true},
		{"http-authorization", `headers["Authorization"] = "Bearer " + accessTokenFromTheSession`, false},
		{"http-authorization", "Authorization: Bearer <your-token-here>", false},
		{"http-authorization", "Authorization: Basic dXNlcm5hbWVvbmx5bm9jb2xvbg==", false},
		{"curl-basic-auth", "curl -u deploy:kQ8jdXmp3Qw https://ci.test/api", true},
		{"curl-basic-auth", "curl -u admin:$ADMIN_PASSWORD https://ci.test/api", false},
		{"nuget-config-password", `<add key="ClearTextPassword" value="kQ8jdXmpQwLzRt3" />`, true},
		{"nuget-config-password", `<add key="ClearTextPassword" value="%NUGET_PASSWORD%" />`, false},
		{"azure-storage-key", "AZURE_STORAGE_KEY=" + "yIqh2tl6j6zl0pUERVk7Y8ZOGWdieLgCYg16i2xYy6PdX9+2Hp+oNPWJER6dee6KrBdWpz9AUSXKb6+o+Squ9w==", true},
		// Issue 17's cause 6 and 7, checked again: other Authorization
		// schemes, storage keys passed as flags, curl's --user forms.
		{"http-authorization", "Authorization: ApiKey a1B2c3D4e5F6g7H8i9J0kLmNoPqRsT", true},
		{"http-authorization", `xhr.setRequestHeader("Authorization", "SSWS 00Qh7Lp2Qw9Ks4Vb6NmRt3Zy8WcJ5dFg1aKq8")`, true},
		{"http-authorization", "Authorization: Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs", true},
		{"http-authorization", `Authorization: Digest username="u", realm="r", response="6629fae49393a05397450978507c4ef1"`, false},
		{"http-authorization", "Authorization: Required header containing the token", false},
		{"azure-storage-key", "az storage blob upload --account-key yIqh2tl6j6zl0pUERVk7Y8ZOGWdieLgCYg16i2xYy6PdX9+2Hp+oNPWJER6dee6KrBdWpz9AUSXKb6+o+Squ9w== -f x", true},
		{"azure-storage-key", `New-AzStorageContext -StorageAccountName a -StorageAccountKey "yIqh2tl6j6zl0pUERVk7Y8ZOGWdieLgCYg16i2xYy6PdX9+2Hp+oNPWJER6dee6KrBdWpz9AUSXKb6+o+Squ9w=="`, true},
		{"azure-storage-key", `primary_access_key = "yIqh2tl6j6zl0pUERVk7Y8ZOGWdieLgCYg16i2xYy6PdX9+2Hp+oNPWJER6dee6KrBdWpz9AUSXKb6+o+Squ9w=="`, true},
		{"azure-storage-key", `"integrity": "sha512-yIqh2tl6j6zl0pUERVk7Y8ZOGWdieLgCYg16i2xYy6PdX9+2Hp+oNPWJER6dee6KrBdWpz9AUSXKb6+o+Squ9w=="`, false},
		{"curl-basic-auth", `curl https://ci.test/api --user "deploy:kQ8jdXmpQwLz"`, true},
		{"curl-basic-auth", "curl -udeploy:kQ8jdXmpQwLz https://ci.test/api", true},
		{"gitlab-runner-registration-token", "GR1348941abcdefghijklmnopqrst", false},
		{"basic-credential-base64", `{"auths": {"registry.test": {"auth": "Y2ktYm90OnpnSmVzdHdFUDhMTHZpblVjWmtR"}}}`, true},
		{"basic-credential-base64", "//npm.test/:_auth=Y2ktYm90OnpnSmVzdHdFUDhMTHZpblVjWmtR", true},
		{"basic-credential-base64", `"auth": "dXNlcm5hbWVvbmx5bm9jb2xvbg=="`, false}, // no colon
		{"basic-credential-base64", `"auth": "YWRtaW46cGFzc3dvcmQ="`, false},         // admin:password
		{"basic-credential-base64", `"auth": "basic"`, false},
		{"netrc-password", "machine api.test login deploy password 2FR1Y4sPbi4vaGe7x0zu", true},
		{"netrc-password", "machine api.test login deploy password $NETRC_PASSWORD", false},
		{"netrc-password", "machine api.test login deploy password changeme", false},
		{"netrc-password", "Enter the password twice to confirm", false},
	}
	for _, c := range cases {
		fs := scanString(t, s, c.text+"\n")
		if got := hasRule(fs, c.rule); got != c.want {
			t.Errorf("%s: %q: found %v (%v), want %v", c.rule, c.text, got, fs, c.want)
		}
	}
	// A run of As opens real X bearer tokens: the repeated-character check
	// must not reject them, but still rejects fillers.
	if isPlaceholder("AAAAAAAAAAAAAAAAAAAAAMLheAAAAAAA0%2BuSeid%2BULvsea4JtiGRiSDSJSI") {
		t.Error("bearer token taken for a placeholder")
	}
	if !isPlaceholder("ghp_000000000000000000000000000000000000") {
		t.Error("zero-filled token not taken for a placeholder")
	}
}
