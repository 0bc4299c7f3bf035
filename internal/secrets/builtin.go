package secrets

import (
	"encoding/base64"
	"encoding/json"
	"regexp"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/finding"
)

// Severity shorthands for the rule table.
const (
	crit = finding.Critical
	high = finding.High
	med  = finding.Medium
	low  = finding.Low
)

// Pieces of the rule regexes.
const (
	// pre and post bound a token so that it is not part of a longer word.
	pre  = `(?:^|[^A-Za-z0-9_])(`
	post = `)(?:[^A-Za-z0-9_-]|$)`
	// assign is the assignment between a key and its value: "=", ":",
	// ":=", "=>", with the key and the value quoted or not.
	assign = `[\w.-]{0,25}["']?\s*(?:=>|:=|=|:)\s*["'` + "`" + `]?(`
	// endValue ends an assigned value.
	endValue = `)(?:["'` + "`" + `\s,;)}\]]|$)`
	uuid     = `[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`
	hex32    = `[a-fA-F0-9]{32}`
	hex40    = `[a-fA-F0-9]{40}`
)

// tok is a rule for a token with a distinctive shape, found anywhere.
func tok(id, title string, sev finding.Severity, pattern string, keywords ...string) *Rule {
	return &Rule{ID: id, Title: title, Severity: sev, Regex: regexp.MustCompile(pre + pattern + post), Keywords: keywords, anchor: anchorBefore}
}

// near is a rule for a value that is only a secret when assigned to a key
// matching keyRe ("heroku_api_key = ..."); keyRe is case-insensitive.
func near(id, title string, sev finding.Severity, keyRe, valueRe string, keywords ...string) *Rule {
	return &Rule{ID: id, Title: title, Severity: sev,
		Regex:    regexp.MustCompile(`(?i:` + keyRe + `)` + assign + valueRe + endValue),
		Keywords: keywords, anchor: anchorAt}
}

// raw is a rule with a regex of its own.
func raw(id, title string, sev finding.Severity, pattern string, keywords ...string) *Rule {
	return &Rule{ID: id, Title: title, Severity: sev, Regex: regexp.MustCompile(pattern), Keywords: keywords}
}

func (r *Rule) entropy(h float64) *Rule { r.MinEntropy = h; return r }

func (r *Rule) validate(f func(string) bool) *Rule { r.Validate = f; return r }

func (r *Rule) multiline() *Rule { r.Multiline = true; return r }

// at marks a rule whose regex starts at its keywords.
func (r *Rule) at() *Rule { r.anchor = anchorAt; return r }

// before marks a rule whose regex starts one boundary byte before its keywords.
func (r *Rule) before() *Rule { r.anchor = anchorBefore; return r }

// floating marks a token rule whose keyword is not at the token's start.
func (r *Rule) floating() *Rule { r.anchor = anchorNone; return r }

// keepPlaceholders turns the placeholder filter off for formats that have
// long runs of one character by design.
func (r *Rule) keepPlaceholders() *Rule { r.KeepPlaceholders = true; return r }

func (r *Rule) fallback() *Rule { r.Fallback = true; return r }

func (r *Rule) withFix(s string) *Rule { r.Fix = s; return r }

// context makes a rule also find values through the context model
// (context.go) from the identifiers that hold its keywords: value must
// match the whole value; strict allows white space alone as the separator.
func (r *Rule) context(value string, minLen, maxLen int, strict bool) *Rule {
	r.ctx = &contextSpec{value: regexp.MustCompile(`^(?:` + value + `)$`), minLen: minLen, maxLen: maxLen, strict: strict}
	return r
}

// spans makes a finding span the rule's whole match.
func (r *Rule) spans() *Rule { r.spanMatch = true; return r }

// privateKey is a rule for a PEM-style private key block of one kind, from
// its BEGIN line to its END line. The block may sit in a file, in a YAML
// block scalar, in code strings (one per line, concatenated) or on one
// line with escaped newlines (JSON); keyBody checks what is inside.
func privateKey(id, title, label string) *Rule {
	l := regexp.QuoteMeta(label)
	return raw(id, title, crit,
		`-----BEGIN `+l+`-----(?:\\[nr]|\s)*((?:[A-Za-z0-9+/=\s"'`+"`"+`,\\]|[A-Za-z-]+: [^\n]*)+?)-----END `+l+`-----`,
		"-----begin "+strings.ToLower(label)+"-----").validate(keyBody).keepPlaceholders().multiline().at().spans()
}

// Builtin returns the built-in rule set, freshly allocated.
func Builtin() []*Rule {
	return []*Rule{
		// AWS
		tok("aws-access-key-id", "AWS access key ID", crit, `(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}`, "akia", "asia", "abia", "acca").
			withFix("Deactivate and delete the access key in IAM (aws iam delete-access-key), rotate it, and review CloudTrail for its use."),
		raw("aws-secret-access-key", "AWS secret access key", crit,
			`(?i:aws|secret|key)[\w.-]{0,30}["']?\s*(?:=>|:=|=|:)\s*["']?([A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)`,
			"aws", "secret", "key").entropy(4.0).validate(awsSecretShape).at().
			context(`[A-Za-z0-9/+=]{40}`, 40, 40, true),
		raw("aws-session-token", "AWS session token", crit,
			`(?i:session[_-]?token|security[_-]?token)[\w.-]{0,20}["']?\s*(?:=>|:=|=|:)\s*["']?([A-Za-z0-9/+=]{100,})`,
			"session_token", "sessiontoken", "session-token", "security_token", "securitytoken", "security-token").entropy(4.0).at(),
		tok("aws-session-token-value", "AWS session token", crit, `(?:IQoJb3JpZ2luX2Vj|FwoGZXIvYXdzE)[A-Za-z0-9/+=]{100,}`, "iqojb3jpz2lux2vj", "fwogzxivyxdze"),
		raw("aws-account-id", "AWS account ID", low,
			`(?i:account)[\w.-]{0,15}["']?\s*(?:=>|:=|=|:)\s*["']?(\d{12})(?:[^\d]|$)`, "account", "acct").validate(awsAccountID).at().
			context(`\d{12}|\d{4}-\d{4}-\d{4}`, 12, 14, true),
		tok("aws-mws-key", "Amazon MWS auth token", crit, `amzn\.mws\.`+uuid, "amzn.mws."),
		tok("aws-bedrock-api-key", "Amazon Bedrock API key", crit, `ABSK[A-Za-z0-9+/]{109,269}={0,2}`, "absk"),

		// Source hosting
		tok("github-pat", "GitHub personal access token (classic)", crit, `ghp_[A-Za-z0-9]{36}`, "ghp_"),
		tok("github-fine-grained-pat", "GitHub fine-grained personal access token", crit, `github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}`, "github_pat_"),
		tok("github-oauth-token", "GitHub OAuth access token", crit, `gho_[A-Za-z0-9]{36}`, "gho_"),
		tok("github-app-token", "GitHub App token", crit, `(?:ghu|ghs)_[A-Za-z0-9]{36}`, "ghu_", "ghs_"),
		tok("github-refresh-token", "GitHub refresh token", crit, `ghr_[A-Za-z0-9]{36,76}`, "ghr_"),
		near("github-client-secret", "GitHub OAuth app client secret", high, `github[\w.-]{0,20}(?:client)?[_.-]?secret`, hex40, "github").entropy(3.0),
		tok("gitlab-pat", "GitLab personal access token", crit, `glpat-[A-Za-z0-9_-]{20,}`, "glpat-"),
		tok("gitlab-pipeline-trigger-token", "GitLab pipeline trigger token", high, `glptt-[a-f0-9]{40}`, "glptt-"),
		tok("gitlab-runner-registration-token", "GitLab runner registration token", high, `GR1348941[A-Za-z0-9_-]{20}`, "gr1348941"),
		tok("gitlab-runner-token", "GitLab runner authentication token", high, `glrt-[A-Za-z0-9_-]{20,}`, "glrt-"),
		tok("gitlab-deploy-token", "GitLab deploy token", high, `gldt-[A-Za-z0-9_-]{20,}`, "gldt-"),
		tok("gitlab-feed-token", "GitLab feed token", med, `glft-[A-Za-z0-9_-]{20,}`, "glft-"),
		tok("gitlab-oauth-secret", "GitLab OAuth application secret", high, `gloas-[A-Za-z0-9_-]{64}`, "gloas-"),
		tok("gitlab-scim-token", "GitLab SCIM token", high, `glsoat-[A-Za-z0-9_-]{20,}`, "glsoat-"),
		tok("gitlab-incoming-mail-token", "GitLab incoming mail token", med, `glimt-[A-Za-z0-9_-]{25}`, "glimt-"),
		tok("gitlab-agent-token", "GitLab Kubernetes agent token", high, `glagent-[A-Za-z0-9_-]{50}`, "glagent-"),
		tok("gitlab-job-token", "GitLab CI/CD job token", high, `glcbt-[A-Za-z0-9]{1,5}_[A-Za-z0-9_-]{20}`, "glcbt-"),
		near("bitbucket-client-id", "Bitbucket OAuth client ID", med, `bitbucket`, `[A-Za-z0-9]{32}`, "bitbucket").entropy(3.5),
		near("bitbucket-client-secret", "Bitbucket OAuth client secret", high, `bitbucket`, `[A-Za-z0-9_=-]{64}`, "bitbucket").entropy(3.5),
		tok("bitbucket-app-password", "Bitbucket app password", crit, `ATBB[A-Za-z0-9_=.-]{28,}`, "atbb"),
		tok("atlassian-api-token", "Atlassian API token", crit, `ATATT3[A-Za-z0-9_=-]{180,}`, "atatt3"),
		near("atlassian-api-token-legacy", "Atlassian API token (legacy)", high, `atlassian|confluence|jira`, `[A-Za-z0-9]{24}`, "atlassian", "confluence", "jira").entropy(3.5),
		tok("sourcegraph-token", "Sourcegraph access token", high, `sgp_(?:[a-fA-F0-9]{16}|local)_[a-fA-F0-9]{40}`, "sgp_"),
		tok("gitea-token", "Gitea access token", high, `gta_[A-Za-z0-9]{40}`, "gta_"),

		// Chat
		tok("slack-bot-token", "Slack bot token", crit, `xoxb-[0-9]{10,13}-[0-9]{10,13}-[A-Za-z0-9]{24,34}`, "xoxb-"),
		tok("slack-user-token", "Slack user token", crit, `xox[pe](?:-[0-9]{10,13}){3}-[A-Za-z0-9-]{28,34}`, "xoxp-", "xoxe-"),
		tok("slack-app-token", "Slack app-level token", high, `xapp-\d-[A-Z0-9]+-\d+-[a-z0-9]+`, "xapp-"),
		tok("slack-config-token", "Slack configuration token", high, `xoxe\.xox[bp]-\d-[A-Z0-9]{163,166}`, "xoxe.xox"),
		tok("slack-config-refresh-token", "Slack configuration refresh token", high, `xoxe-\d-[A-Z0-9]{146}`, "xoxe-"),
		tok("slack-legacy-token", "Slack legacy token", high, `xox[aors]-(?:\d+-)+[A-Za-z0-9]{8,48}`, "xoxa-", "xoxo-", "xoxr-", "xoxs-"),
		raw("slack-webhook", "Slack incoming webhook", high, `(hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/_-]{30,})`, "hooks.slack.com").at(),
		raw("discord-webhook", "Discord webhook", high, `(discord(?:app)?\.com/api/webhooks/[0-9]{17,20}/[A-Za-z0-9_-]{60,68})`, "discord.com/api/webhooks", "discordapp.com/api/webhooks").at(),
		near("discord-bot-token", "Discord bot token", high, `discord`, `[A-Za-z0-9_-]{24,26}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38}`, "discord"),
		near("discord-client-secret", "Discord client secret", high, `discord`, `[A-Za-z0-9_-]{32}`, "discord").entropy(3.5),
		raw("teams-webhook", "Microsoft Teams incoming webhook", high, `(https://[a-z0-9-]+\.webhook\.office\.com/webhookb2/`+uuid+`@`+uuid+`/IncomingWebhook/[A-Za-z0-9]{32}/`+uuid+`)`, "webhook.office.com"),
		near("telegram-bot-token", "Telegram bot token", high, `telegram|tg[_-]?bot`, `[0-9]{8,10}:AA[A-Za-z0-9_-]{33}`, "telegram", "tg_bot", "tgbot", "tg-bot"),
		tok("mattermost-token", "Mattermost access token", med, `mmp_[A-Za-z0-9]{26}`, "mmp_"),

		// Payments and commerce
		tok("stripe-secret-key", "Stripe secret key", crit, `sk_(?:live|test)_[A-Za-z0-9]{24,99}`, "sk_live_", "sk_test_"),
		tok("stripe-restricted-key", "Stripe restricted key", high, `rk_(?:live|test)_[A-Za-z0-9]{24,99}`, "rk_live_", "rk_test_"),
		tok("stripe-webhook-secret", "Stripe webhook signing secret", high, `whsec_[A-Za-z0-9]{32,}`, "whsec_"),
		tok("square-access-token", "Square access token", crit, `(?:EAAA|sq0atp-)[A-Za-z0-9_-]{22,60}`, "eaaa", "sq0atp-"),
		tok("square-oauth-secret", "Square OAuth secret", crit, `sq0csp-[A-Za-z0-9_-]{43}`, "sq0csp-"),
		tok("braintree-access-token", "PayPal Braintree access token", crit, `access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}`, "access_token$"),
		tok("shopify-access-token", "Shopify access token", crit, `shp(?:at|ca|pa)_[a-fA-F0-9]{32}`, "shpat_", "shpca_", "shppa_"),
		tok("shopify-shared-secret", "Shopify shared secret", high, `shpss_[a-fA-F0-9]{32}`, "shpss_"),
		tok("flutterwave-secret-key", "Flutterwave secret key", crit, `FLWSECK(?:_TEST)?-[a-hA-H0-9]{32}-X`, "flwseck"),
		tok("flutterwave-encryption-key", "Flutterwave encryption key", high, `FLWSECK_TEST[a-hA-H0-9]{12}`, "flwseck_test"),
		tok("duffel-token", "Duffel API token", high, `duffel_(?:test|live)_[A-Za-z0-9_=-]{43}`, "duffel_"),
		tok("easypost-api-key", "EasyPost API key", high, `EZ[AT]K[A-Za-z0-9]{54}`, "ezak", "eztk"),
		tok("shippo-token", "Shippo API token", high, `shippo_(?:live|test)_[a-fA-F0-9]{40}`, "shippo_"),
		near("gocardless-token", "GoCardless API token", high, `gocardless`, `live_[A-Za-z0-9_=-]{40}`, "gocardless"),
		near("coinbase-access-token", "Coinbase access token", high, `coinbase`, `[A-Za-z0-9_-]{64}`, "coinbase").entropy(3.5),
		tok("plaid-access-token", "Plaid access token", high, `access-(?:sandbox|development|production)-`+uuid, "access-sandbox-", "access-development-", "access-production-"),

		// Communication APIs
		tok("sendgrid-api-key", "SendGrid API key", crit, `SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}`, "sg."),
		tok("mailgun-private-key", "Mailgun private API key", high, `key-[a-f0-9]{32}`, "key-"),
		tok("mailgun-public-key", "Mailgun public validation key", low, `pubkey-[a-f0-9]{32}`, "pubkey-"),
		near("mailgun-signing-key", "Mailgun webhook signing key", high, `mailgun`, `[a-hA-H0-9]{32}-[a-hA-H0-9]{8}-[a-hA-H0-9]{8}`, "mailgun"),
		raw("twilio-api-key", "Twilio API key", high, `(?i:twilio)[^\n]{0,60}?(?:^|[^A-Za-z0-9])(SK[a-f0-9]{32})(?:[^A-Za-z0-9]|$)`, "twilio").at(),
		raw("twilio-account-sid", "Twilio account SID", low, `(?i:twilio)[^\n]{0,60}?(?:^|[^A-Za-z0-9])(AC[a-f0-9]{32})(?:[^A-Za-z0-9]|$)`, "twilio").at(),
		near("twilio-auth-token", "Twilio auth token", high, `twilio[\w.-]{0,20}(?:auth|token|secret)`, `[a-f0-9]{32}`, "twilio").entropy(3.0),
		tok("mailchimp-api-key", "Mailchimp API key", high, `[a-f0-9]{32}-us[0-9]{1,2}`, "-us").floating(),
		tok("mandrill-api-key", "Mandrill API key", high, `md-[A-Za-z0-9_-]{22}`, "md-").entropy(3.5),
		tok("sendinblue-api-key", "Brevo (Sendinblue) API key", high, `xkeysib-[a-f0-9]{64}-[A-Za-z0-9]{16}`, "xkeysib-"),
		near("postmark-server-token", "Postmark server token", high, `postmark`, uuid, "postmark"),
		near("messagebird-api-key", "MessageBird API key", high, `message[_-]?bird`, `[A-Za-z0-9]{25}`, "messagebird", "message_bird", "message-bird").entropy(3.5),
		near("vonage-api-secret", "Vonage (Nexmo) API secret", high, `nexmo|vonage`, `[A-Za-z0-9]{16}`, "nexmo", "vonage").entropy(3.5),
		near("intercom-access-token", "Intercom access token", high, `intercom`, `[A-Za-z0-9=_-]{60}`, "intercom").entropy(3.5),

		// Google
		tok("gcp-api-key", "Google API key", high, `AIza[0-9A-Za-z_-]{35}`, "aiza"),
		raw("gcp-service-account-key", "Google Cloud service account key", crit, gcpServiceAccount, "private_key").
			withFix("Delete the key in IAM (gcloud iam service-accounts keys delete), create a new one, and keep it out of the source tree; prefer workload identity.").multiline().spans(),
		tok("gcp-oauth-client-secret", "Google OAuth client secret", high, `GOCSPX-[A-Za-z0-9_-]{28}`, "gocspx-"),
		tok("gcp-oauth-access-token", "Google OAuth access token", high, `ya29\.[0-9A-Za-z_-]{30,}`, "ya29."),
		tok("firebase-cloud-messaging-key", "Firebase Cloud Messaging server key", high, `AAAA[A-Za-z0-9_-]{7}:[A-Za-z0-9_-]{140}`, "aaaa"),

		// Azure and Microsoft
		raw("azure-storage-connection-string", "Azure storage connection string", crit,
			`(?i:DefaultEndpointsProtocol=https?;AccountName=[^;\s]+;AccountKey=)([A-Za-z0-9+/]{86}==)`, "defaultendpointsprotocol").at(),
		raw("azure-storage-account-key", "Azure storage account key", crit, `(?i:AccountKey)\s*=\s*([A-Za-z0-9+/]{86}==)`, "accountkey").at(),
		raw("azure-service-bus-connection-string", "Azure Service Bus / Event Hubs connection string", crit,
			`(?i:Endpoint=sb://[^;\s]+;SharedAccessKeyName=[^;\s]+;SharedAccessKey=)([A-Za-z0-9+/]{43}=)`, "endpoint=sb://").at(),
		raw("azure-sas-token", "Azure shared access signature", high, `sv=\d{4}-\d\d-\d\d&[^\s"']*?sig=([A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})`, "sig="),
		tok("azure-ad-client-secret", "Azure AD (Entra ID) client secret", crit, `[A-Za-z0-9_~.]{3}\dQ~[A-Za-z0-9_~.-]{31,34}`, "q~").floating(),
		tok("azure-devops-pat", "Azure DevOps personal access token", crit, `[A-Za-z0-9]{52}JQQJ99[A-Za-z0-9]{4}AZDO[A-Za-z0-9]{4}`, "azdo").floating(),
		near("azure-devops-pat-legacy", "Azure DevOps personal access token (legacy)", high, `azure[\w.-]{0,10}devops|ado[_-]?pat|azdo`, `[a-z2-7]{52}`, "azure", "ado_pat", "adopat", "ado-pat", "azdo"),
		tok("azure-container-registry-key", "Azure Container Registry access key", high, `[A-Za-z0-9+/]{42}\+ACR[A-Za-z0-9]{6}`, "+acr").floating(),
		tok("azure-cosmosdb-key", "Azure Cosmos DB key", crit, `[A-Za-z0-9+/]{76}ACDb[A-Za-z0-9+/]{5}[AQgw]==`, "acdb").floating(),
		tok("azure-search-key", "Azure AI Search key", high, `[A-Za-z0-9]{42}AzSe[A-Za-z0-9]{6}`, "azse").floating(),
		near("azure-openai-key", "Azure OpenAI key", high, `azure[\w.-]{0,10}openai|openai[\w.-]{0,10}azure`, hex32, "azure", "openai"),

		// Other clouds and hosting
		tok("alibaba-access-key-id", "Alibaba Cloud AccessKey ID", high, `LTAI[A-Za-z0-9]{20}`, "ltai"),
		near("alibaba-secret-key", "Alibaba Cloud AccessKey secret", crit, `alibaba|aliyun`, `[A-Za-z0-9]{30}`, "alibaba", "aliyun").entropy(3.5),
		tok("tencent-secret-id", "Tencent Cloud SecretId", high, `AKID[A-Za-z0-9]{32}`, "akid"),
		tok("yandex-api-key", "Yandex Cloud API key", high, `AQVN[A-Za-z0-9_-]{35,38}`, "aqvn"),
		tok("yandex-iam-token", "Yandex Cloud IAM token", high, `t1\.[A-Z0-9a-z_-]+={0,2}\.[A-Z0-9a-z_-]{86}={0,2}`, "t1."),
		tok("digitalocean-token", "DigitalOcean token", crit, `do[opr]_v1_[a-f0-9]{64}`, "dop_v1_", "doo_v1_", "dor_v1_"),
		near("heroku-api-key", "Heroku API key", high, `heroku`, uuid, "heroku"),
		tok("heroku-api-key-v2", "Heroku API key", high, `HRKU-AA[0-9a-zA-Z_-]{58}`, "hrku-"),
		near("linode-token", "Linode API token", high, `linode`, `[a-f0-9]{64}`, "linode"),
		near("vultr-api-key", "Vultr API key", high, `vultr`, `[A-Z0-9]{36}`, "vultr").entropy(3.5),
		near("hetzner-token", "Hetzner Cloud API token", high, `hetzner|hcloud`, `[A-Za-z0-9]{64}`, "hetzner", "hcloud").entropy(3.5),
		near("scaleway-secret-key", "Scaleway secret key", high, `scaleway|scw`, uuid, "scaleway", "scw"),
		near("cloudflare-api-token", "Cloudflare API token", high, `cloudflare|cf[_-]api`, `[A-Za-z0-9_-]{40}`, "cloudflare", "cf_api", "cf-api").entropy(3.5),
		near("cloudflare-global-api-key", "Cloudflare global API key", crit, `cloudflare|cf[_-]api`, `[a-f0-9]{37}`, "cloudflare", "cf_api", "cf-api"),
		tok("cloudflare-origin-ca-key", "Cloudflare Origin CA key", high, `v1\.0-[a-f0-9]{24}-[a-f0-9]{146}`, "v1.0-"),
		near("fastly-api-token", "Fastly API token", high, `fastly`, `[A-Za-z0-9_-]{32}`, "fastly").entropy(3.5),
		near("netlify-token", "Netlify access token", high, `netlify`, `[A-Za-z0-9_-]{40,46}`, "netlify").entropy(3.5),
		near("vercel-token", "Vercel access token", high, `vercel`, `[A-Za-z0-9]{24}`, "vercel").entropy(3.5),
		tok("flyio-token", "Fly.io access token", high, `FlyV1 fm\d+_[A-Za-z0-9+/=,_-]{100,}`, "flyv1"),
		tok("databricks-token", "Databricks access token", high, `dapi[a-f0-9]{32}(?:-\d)?`, "dapi"),
		tok("planetscale-token", "PlanetScale token or password", high, `pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.=-]{32,64}`, "pscale_"),
		tok("supabase-token", "Supabase access token", high, `sbp_[a-f0-9]{40}`, "sbp_"),
		tok("pulumi-token", "Pulumi access token", high, `pul-[a-f0-9]{40}`, "pul-"),
		tok("terraform-cloud-token", "Terraform Cloud / HCP token", crit, `[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70}`, "atlasv1").floating(),
		tok("vault-service-token", "HashiCorp Vault service token", crit, `hvs\.[A-Za-z0-9_-]{90,120}`, "hvs."),
		tok("vault-batch-token", "HashiCorp Vault batch token", high, `hvb\.[A-Za-z0-9_-]{138,300}`, "hvb."),
		tok("doppler-token", "Doppler token", high, `dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,44}`, "dp.pt.", "dp.st.", "dp.sa.", "dp.ct.", "dp.scim.", "dp.audit."),
		tok("onepassword-service-token", "1Password service account token", crit, `ops_eyJ[A-Za-z0-9+/]{250,}={0,3}`, "ops_eyj"),
		tok("tailscale-key", "Tailscale key", high, `tskey-(?:auth|api|client|scim|webhook)-[A-Za-z0-9]{8,}-[A-Za-z0-9]{16,}`, "tskey-"),
		tok("openshift-token", "OpenShift user token", high, `sha256~[A-Za-z0-9_-]{43}`, "sha256~"),
		raw("kubeconfig-client-key", "Kubernetes client key in a kubeconfig", crit, `client-key-data:\s*["']?([A-Za-z0-9+/=]{100,})`, "client-key-data").at(),
		raw("kubernetes-secret-data", "Kubernetes Secret with a password or token value", med,
			`(?m)(?i:password|token|secret|api[_-]?key)[\w.-]{0,20}:\s+["']?([A-Za-z0-9+/]{16,}={0,2})["']?\s*$`, "kind: secret").entropy(3.5).multiline(),

		// Observability and developer services
		tok("newrelic-user-api-key", "New Relic user API key", high, `NRAK-[A-Z0-9]{27}`, "nrak-"),
		tok("newrelic-insert-key", "New Relic insert key", high, `NRII-[A-Za-z0-9-]{32}`, "nrii-"),
		tok("newrelic-browser-key", "New Relic browser API token", med, `NRJS-[a-f0-9]{19}`, "nrjs-"),
		tok("dynatrace-token", "Dynatrace API token", high, `dt0c01\.[A-Z0-9]{24}\.[A-Z0-9]{64}`, "dt0c01."),
		near("datadog-api-key", "Datadog API or application key", high, `datadog|dd[_-]?(?:api|app)`, `[a-f0-9]{32}(?:[a-f0-9]{8})?`, "datadog", "dd_api", "dd-api", "dd_app", "dd-app", "ddapi", "ddapp"),
		tok("grafana-cloud-token", "Grafana Cloud API token", high, `glc_[A-Za-z0-9+/]{32,400}={0,2}`, "glc_"),
		tok("grafana-service-account-token", "Grafana service account token", high, `glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}`, "glsa_"),
		tok("sentry-org-token", "Sentry organization token", high, `sntrys_eyJ[A-Za-z0-9+/=_-]{60,}`, "sntrys_"),
		tok("sentry-user-token", "Sentry user token", high, `sntryu_[a-f0-9]{64}`, "sntryu_"),
		tok("postman-api-key", "Postman API key", high, `PMAK-[a-f0-9]{24}-[a-f0-9]{34}`, "pmak-"),
		tok("linear-api-key", "Linear API key", high, `lin_api_[A-Za-z0-9]{40}`, "lin_api_"),
		tok("notion-token", "Notion integration token", high, `(?:secret_[A-Za-z0-9]{43}|ntn_[0-9]{11}[A-Za-z0-9]{35})`, "secret_", "ntn_"),
		tok("airtable-pat", "Airtable personal access token", high, `pat[A-Za-z0-9]{14}\.[a-f0-9]{64}`, "pat"),
		tok("figma-token", "Figma personal access token", med, `figd_[A-Za-z0-9_-]{40}`, "figd_"),
		tok("contentful-token", "Contentful personal access token", high, `CFPAT-[A-Za-z0-9_-]{43}`, "cfpat-"),
		tok("typeform-token", "Typeform personal access token", med, `tfp_[A-Za-z0-9_.=-]{59}`, "tfp_"),
		tok("readme-api-key", "ReadMe API key", med, `rdme_[a-z0-9]{70}`, "rdme_"),
		tok("prefect-api-key", "Prefect API key", high, `pnu_[A-Za-z0-9]{36}`, "pnu_"),
		tok("frameio-token", "Frame.io API token", med, `fio-u-[A-Za-z0-9_=-]{64}`, "fio-u-"),
		tok("harness-pat", "Harness access token", high, `(?:pat|sat)\.[A-Za-z0-9_-]{22}\.[a-f0-9]{24}\.[A-Za-z0-9]{20}`, "pat.", "sat."),
		tok("buildkite-token", "Buildkite agent or API token", high, `bkua_[a-f0-9]{40}`, "bkua_"),
		tok("circleci-token", "CircleCI personal token", high, `CCIPAT_[A-Za-z0-9]{22}_[a-f0-9]{40}`, "ccipat_"),
		near("travis-token", "Travis CI token", high, `travis`, `[A-Za-z0-9_-]{22}`, "travis").entropy(3.5),
		near("codecov-token", "Codecov upload token", med, `codecov`, uuid, "codecov"),
		near("snyk-token", "Snyk API token", high, `snyk`, uuid, "snyk"),
		tok("sonar-token", "SonarQube / SonarCloud token", high, `sq[pua]_[a-f0-9]{40}`, "sqp_", "squ_", "sqa_"),
		tok("jfrog-api-key", "JFrog Artifactory API key", high, `AKCp[A-Za-z0-9]{69}`, "akcp"),
		tok("jfrog-identity-token", "JFrog identity token", high, `cmVmdGtu[A-Za-z0-9]{56}`, "cmvmdgtu"),
		tok("octopus-deploy-key", "Octopus Deploy API key", high, `API-[A-Z0-9]{26}`, "api-"),
		near("launchdarkly-token", "LaunchDarkly access token", high, `launchdarkly`, `(?:api|sdk)-`+uuid, "launchdarkly"),
		near("okta-token", "Okta API token", high, `okta`, `00[A-Za-z0-9_-]{40}`, "okta"),
		near("algolia-admin-key", "Algolia admin API key", high, `algolia`, hex32, "algolia"),
		near("asana-token", "Asana personal access token", high, `asana`, `[0-9]/[0-9]{16}:[a-f0-9]{32}`, "asana"),
		near("hubspot-api-key", "HubSpot API key", high, `hubspot`, uuid, "hubspot"),
		tok("hubspot-private-app-token", "HubSpot private app token", high, `pat-(?:na|eu)1-`+uuid, "pat-na1-", "pat-eu1-"),
		near("zendesk-token", "Zendesk API token", high, `zendesk`, `[A-Za-z0-9]{40}`, "zendesk").entropy(3.5),
		near("ngrok-token", "ngrok auth token", high, `ngrok`, `[0-9A-Za-z]{26,27}_[0-9A-Za-z]{20,21}`, "ngrok"),
		tok("infracost-api-key", "Infracost API key", med, `ico-[A-Za-z0-9]{32}`, "ico-"),
		tok("defined-networking-token", "Defined Networking API token", high, `dnkey-[a-z0-9=_-]{26}-[a-z0-9=_-]{52}`, "dnkey-"),
		tok("scalingo-token", "Scalingo API token", high, `tk-us-[A-Za-z0-9_-]{48}`, "tk-us-"),
		near("dropbox-token", "Dropbox access token", high, `dropbox`, `sl\.[A-Za-z0-9_-]{130,152}`, "dropbox"),
		tok("mapbox-secret-token", "Mapbox secret token", high, `sk\.eyJ[A-Za-z0-9_-]{50,}\.[A-Za-z0-9_-]{20,}`, "sk.eyj"),
		near("facebook-app-secret", "Facebook app secret", high, `facebook|fb[_-]?app`, hex32, "facebook", "fb_app", "fbapp", "fb-app"),
		tok("facebook-access-token", "Facebook access token", high, `EAACEdEose0cBA[A-Za-z0-9]{20,}`, "eaacedeose0cba"),
		near("twitter-bearer-token", "Twitter / X bearer token", high, `twitter|x[_-]bearer`, `A{22}[A-Za-z0-9%]{80,120}`, "twitter", "x_bearer", "x-bearer").keepPlaceholders(),
		near("twitch-token", "Twitch API token", med, `twitch`, `[a-z0-9]{30}`, "twitch").entropy(3.5),

		// AI services
		tok("openai-api-key", "OpenAI API key", crit, `sk-(?:(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|[A-Za-z0-9]{20})T3BlbkFJ[A-Za-z0-9_-]{20,}`, "t3blbkfj").floating(),
		tok("anthropic-api-key", "Anthropic API key", crit, `sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA`, "sk-ant-"),
		tok("huggingface-token", "Hugging Face access token", high, `hf_[A-Za-z]{34}`, "hf_"),
		tok("groq-api-key", "Groq API key", high, `gsk_[A-Za-z0-9]{52}`, "gsk_"),
		tok("replicate-token", "Replicate API token", high, `r8_[A-Za-z0-9]{37}`, "r8_"),
		tok("perplexity-api-key", "Perplexity API key", high, `pplx-[A-Za-z0-9]{48}`, "pplx-"),
		tok("xai-api-key", "xAI API key", high, `xai-[A-Za-z0-9]{80}`, "xai-"),
		near("cohere-api-key", "Cohere API key", high, `cohere|co[_-]api`, `[A-Za-z0-9]{40}`, "cohere", "co_api", "co-api").entropy(3.5),

		// Package registries and container registries
		tok("npm-access-token", "npm access token", crit, `npm_[A-Za-z0-9]{36}`, "npm_"),
		raw("npmrc-auth-token", "npm registry auth token in .npmrc", crit, `_authToken\s*=\s*["']?([^\s"'$]{16,})`, "_authtoken").at(),
		raw("npmrc-auth", "npm registry credentials in .npmrc", crit, `(?:^|[:\s])_(?:auth|password)\s*=\s*["']?([A-Za-z0-9+/=]{12,})`, "_auth", "_password").entropy(3.0).before(),
		tok("pypi-token", "PyPI upload token", crit, `pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{50,}`, "pypi-age"),
		tok("rubygems-api-key", "RubyGems API key", crit, `rubygems_[a-f0-9]{48}`, "rubygems_"),
		tok("nuget-api-key", "NuGet API key", high, `oy2[a-z0-9]{43}`, "oy2"),
		tok("clojars-token", "Clojars deploy token", high, `CLOJARS_[a-z0-9]{60}`, "clojars_"),
		tok("packagist-token", "Private Packagist token", high, `packagist_[ou][ru]t_[a-f0-9]{68}`, "packagist_"),
		tok("dockerhub-pat", "Docker Hub access token", crit, `dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,32}`, "dckr_pat_", "dckr_oat_"),
		raw("docker-config-auth", "Registry credentials in a docker config.json", crit, `"auth"\s*:\s*"([A-Za-z0-9+/]{8,}={0,2})"`, `"auth"`).validate(isBasicAuth).at(),
		raw("docker-login-password", "Registry password on a docker login command line", high,
			`(?:docker|podman|buildah|helm\s+registry)\s+login\b[^\n]*?\s(?:-p|--password)(?:=|\s+)["']?([^\s"'$]{6,})`, "login"),
		near("registry-password", "Container registry password", high, `(?:docker|registry|harbor|quay)[\w.-]{0,15}(?:password|passwd|token)`, `[^\s"'`+"`"+`]{8,}`, "docker", "registry", "harbor", "quay").entropy(3.0),

		// Private keys and certificates
		privateKey("private-key-rsa", "RSA private key", "RSA PRIVATE KEY"),
		privateKey("private-key-ec", "EC private key", "EC PRIVATE KEY"),
		privateKey("private-key-dsa", "DSA private key", "DSA PRIVATE KEY"),
		privateKey("private-key-openssh", "OpenSSH private key", "OPENSSH PRIVATE KEY"),
		privateKey("private-key-pkcs8", "PKCS #8 private key", "PRIVATE KEY"),
		privateKey("private-key-pkcs8-encrypted", "Encrypted PKCS #8 private key", "ENCRYPTED PRIVATE KEY"),
		privateKey("private-key-pgp", "PGP private key block", "PGP PRIVATE KEY BLOCK"),
		privateKey("private-key-ssh2", "SSH2 (Tectia) private key", "SSH2 ENCRYPTED PRIVATE KEY"),
		raw("private-key-putty", "PuTTY private key", crit,
			`PuTTY-User-Key-File-\d: [^\n]+\r?\n(?:[^\n]*\n){0,40}?Private-Lines: \d+\r?\n([A-Za-z0-9+/=\r\n]{64,}?)(?:Private-MAC: [0-9a-fA-F]+|$)`,
			"putty-user-key-file").keepPlaceholders().multiline().at().spans(),
		tok("age-secret-key", "age secret key", crit, `AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}`, "age-secret-key-1"),
		raw("pkcs12-password", "PKCS #12 keystore password", med, `(?i:keystore|truststore|pkcs12|p12)[\w.-]{0,15}pass(?:word)?["']?\s*(?:=>|:=|=|:)\s*["']?([^\s"']{8,})`, "keystore", "truststore", "pkcs12", "p12").entropy(3.0).at(),

		// Tokens, URLs and passwords
		tok("jwt", "JSON Web Token", med, `eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}`, "eyj").validate(isJWT),
		raw("database-url-password", "Database URL with a password", crit,
			`(?i:\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|redis|rediss|amqps?|mssql|sqlserver|oracle|cockroachdb|clickhouse|couchdb|neo4j|cassandra|jdbc:[a-z0-9]+)://)[^:/\s@"']{1,64}:([^@/\s"']{3,128})@[A-Za-z0-9._-]+`,
			"postgres", "mysql", "mariadb", "mongodb", "redis", "amqp", "mssql", "sqlserver", "oracle", "cockroachdb", "clickhouse", "couchdb", "neo4j", "cassandra", "jdbc").at(),
		raw("url-credentials", "URL with a password", high, `(?:https?|ftp|sftp|ssh|git|smtp|ldaps?)://[^:/\s@"']{1,64}:([^@/\s"']{3,128})@[A-Za-z0-9._-]+\.[A-Za-z]{2,}`, "http://", "https://", "ftp://", "sftp://", "ssh://", "git://", "smtp://", "ldap://", "ldaps://").at(),
		raw("netrc-password", "Password in a .netrc file", high, `machine\s+\S+\s+login\s+\S+\s+password\s+(\S{6,})`, "machine").at(),
		raw("sshpass-password", "Password on an sshpass command line", high, `sshpass\s+-p\s*["']?([^\s"']{6,})`, "sshpass").at(),
		raw("htpasswd-bcrypt", "bcrypt password hash", low, `(?:^|[:\s"'])(\$2[aby]\$\d\d\$[./A-Za-z0-9]{53})`, "$2a$", "$2b$", "$2y$").before(),
		raw("sidekiq-credentials", "Sidekiq Enterprise credentials", high, `(?i:BUNDLE_ENTERPRISE__CONTRIBSYS__COM|BUNDLE_GEMS__CONTRIBSYS__COM)\s*[:=]\s*["']?([a-f0-9]{8}:[a-f0-9]{8})`, "bundle_enterprise__contribsys__com", "bundle_gems__contribsys__com").at(),
		raw("generic-password", "Hard-coded password", high,
			`(?i:password|passwd|passphrase|pwd)[\w.-]{0,20}["']?\s*(?:=>|:=|==|=|:)\s*["'`+"`"+`]?([^\s"'`+"`"+`;,()<>{}\[\]$\\]{8,128})(?:["'`+"`"+`\s,;)}\]]|$)`,
			"password", "passwd", "passphrase", "pwd").entropy(3.0).validate(genericValue).fallback().at().
			context(`[^\s"'`+"`"+`;,()<>{}\[\]$\\]{8,128}`, 8, 128, false),
		raw("generic-secret", "Hard-coded secret or token", high,
			`(?i:secret|token|api[_.-]?key|access[_.-]?key|auth[_.-]?key|credential|private[_.-]?key)[\w.-]{0,20}["']?\s*(?:=>|:=|==|=|:)\s*["'`+"`"+`]?([^\s"'`+"`"+`;,()<>{}\[\]$\\]{12,256})(?:["'`+"`"+`\s,;)}\]]|$)`,
			"secret", "token", "api_key", "apikey", "api-key", "api.key", "access_key", "accesskey", "access-key", "access.key", "auth_key", "authkey", "auth-key", "auth.key", "credential", "private_key", "privatekey", "private-key", "private.key").entropy(3.5).validate(genericValue).fallback().at(),
	}
}

// gcpServiceAccount finds a service-account key file's key ID and private
// key, in either order, in a JSON file or in a JSON string (quotes escaped).
const gcpServiceAccount = `private_key_id\\?"\s*:\s*\\?"([a-f0-9]{40})\\?"\s*,\s*\\?"private_key\\?"\s*:\s*\\?"-----BEGIN [A-Z ]*PRIVATE KEY-----[^"]+?-----END [A-Z ]*PRIVATE KEY-----(?:\\+n)*\\?"` +
	`|private_key\\?"\s*:\s*\\?"-----BEGIN [A-Z ]*PRIVATE KEY-----[^"]+?-----END [A-Z ]*PRIVATE KEY-----(?:\\+n)*\\?"\s*,\s*\\?"private_key_id\\?"\s*:\s*\\?"([a-f0-9]{40})\\?"`

// keyBody reports whether a private key block's body is a key: at least
// 64 base64 characters once line breaks (real or escaped), indentation,
// the quotes and + of code strings and header lines (Proc-Type: ...) are
// taken out, with nothing else left but a few stray characters, and no
// placeholder words.
func keyBody(body string) bool {
	body = strings.NewReplacer(`\n`, "\n", `\r`, "\n", `\\n`, "\n").Replace(body)
	n, other := 0, 0
	for line := range strings.SplitSeq(body, "\n") {
		if strings.Contains(line, ": ") {
			continue // a header line
		}
		for i := 0; i < len(line); i++ {
			c := line[i]
			switch {
			case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '/' || c == '=':
				n++
			case c == ' ' || c == '\t' || c == '\r' || c == '"' || c == '\'' || c == '+' || c == '`' || c == ',' || c == '\\':
			default:
				other++
			}
		}
	}
	if n < 64 || other > n/50 {
		return false
	}
	lower := strings.ToLower(body)
	for _, w := range []string{"example", "xxxxxxxx", "your", "placeholder", "redacted"} {
		if strings.Contains(lower, w) {
			return false
		}
	}
	return true
}

// awsSecretShape reports whether a 40-character value has the mix of a
// generated AWS secret key: upper and lower case, and digits or / or +.
func awsSecretShape(v string) bool {
	return strings.ContainsAny(v, upper) && strings.ContainsAny(v, lower) && strings.ContainsAny(v, "0123456789/+")
}

const (
	upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lower = "abcdefghijklmnopqrstuvwxyz"
)

// awsExampleAccounts are the account IDs AWS's documentation uses.
var awsExampleAccounts = map[string]bool{
	"123456789012": true, "111122223333": true, "444455556666": true, "777788889999": true,
	"210987654321": true, "012345678901": true, "123412341234": true,
}

// awsAccountID keeps 12-digit account IDs (dashes taken out) that are not
// documentation examples or fillers.
func awsAccountID(v string) bool {
	d := strings.ReplaceAll(v, "-", "")
	return len(d) == 12 && !awsExampleAccounts[d] && !IsPlaceholder(d)
}

// isJWT reports whether a token's header decodes to a JSON object with an alg.
func isJWT(tok string) bool {
	head, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return false
	}
	var h map[string]any
	if json.Unmarshal(b, &h) != nil {
		return false
	}
	_, ok := h["alg"]
	return ok
}

// isBasicAuth reports whether a docker config "auth" value decodes to user:password.
func isBasicAuth(v string) bool {
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return false
	}
	user, pass, ok := strings.Cut(string(b), ":")
	return ok && user != "" && len(pass) >= 4 && !IsPlaceholder(pass)
}

// uuidRe is a whole UUID: an identifier, not a credential.
var uuidRe = regexp.MustCompile(`^` + uuid + `$`)

// genericValue keeps the values of generic assignments that look like
// credentials: with a digit or symbol, not a code identifier.
func genericValue(v string) bool {
	var hasDigit, hasSymbol, hasLetter bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			hasDigit = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			hasLetter = true
		case c != '_' && c != '.' && c != '-':
			hasSymbol = true
		}
	}
	if !hasLetter && !hasSymbol {
		return false // all digits: an ID or a number
	}
	if strings.HasPrefix(v, "http://") || strings.HasPrefix(v, "https://") || uuidRe.MatchString(v) {
		return false
	}
	return hasDigit || hasSymbol
}
