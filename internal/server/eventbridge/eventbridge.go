// Package eventbridge decodes the Amazon ECR "ECR Image Action" event as
// Amazon EventBridge delivers it to an HTTP endpoint (an API destination
// sends the event JSON unchanged as the request body), and keeps the
// successful image pushes and deletions.
package eventbridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strings"

	"github.com/bulwark-sec/bulwark/internal/server/webhook"
)

// event is the EventBridge envelope with the ECR image action detail.
type event struct {
	DetailType *string `json:"detail-type"`
	Source     string  `json:"source"`
	Account    string  `json:"account"`
	Region     string  `json:"region"`
	Detail     *struct {
		Result     string `json:"result"`
		Repository string `json:"repository-name"`
		Digest     string `json:"image-digest"`
		ActionType string `json:"action-type"`
		Tag        string `json:"image-tag"`
	} `json:"detail"`
}

var (
	accountRe = regexp.MustCompile(`^[0-9]{12}$`)
	regionRe  = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
)

// fields names webhook.Push's fields as the event calls them.
var fields = [4]string{"account and region", "detail.repository-name", "detail.image-digest", "detail.image-tag"}

// Host is the ECR registry host of an account in a region.
func Host(account, region string) string {
	suffix := "amazonaws.com"
	if strings.HasPrefix(region, "cn-") {
		suffix = "amazonaws.com.cn"
	}
	return account + ".dkr.ecr." + region + "." + suffix
}

// Decode reads one EventBridge event. A successful ECR image push or
// deletion (Delete, with the digest and the tag deleted if it names one)
// is returned with its registry host (Host of the event's account and
// region); any other EventBridge event (another source or detail type, a
// failed action) is nil without error. A body that is not an
// EventBridge event, or a push with a malformed field, is an error naming
// it.
func Decode(r io.Reader) (*webhook.Push, error) {
	b, err := webhook.ReadBody(r)
	if err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	var e event
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("not an EventBridge event: %w", err)
	}
	if dec.More() {
		return nil, errors.New("event: data after the event")
	}
	if e.DetailType == nil || e.Detail == nil {
		return nil, errors.New(`not an EventBridge event: no "detail-type" or "detail"`)
	}
	if e.Source != "aws.ecr" || *e.DetailType != "ECR Image Action" || (e.Detail.ActionType != "PUSH" && e.Detail.ActionType != "DELETE") || e.Detail.Result != "SUCCESS" {
		return nil, nil
	}
	if !accountRe.MatchString(e.Account) {
		return nil, fmt.Errorf("event: account %q is not an AWS account ID", clip(e.Account))
	}
	if !regionRe.MatchString(e.Region) {
		return nil, fmt.Errorf("event: region %q is not an AWS region", clip(e.Region))
	}
	p := &webhook.Push{Registry: Host(e.Account, e.Region), Repository: e.Detail.Repository, Digest: e.Detail.Digest, Tag: e.Detail.Tag,
		Delete: e.Detail.ActionType == "DELETE"}
	if err := p.Check(fields); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	return p, nil
}

// clip shortens a hostile value for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}
