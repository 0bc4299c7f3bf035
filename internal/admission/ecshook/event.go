// Package ecshook is bulwark's ECS deployment lifecycle hook: a Lambda
// handler that reads the images of the service revision being deployed,
// decides on them with an admission.Decider, and answers SUCCEEDED, FAILED
// (ECS rolls the deployment back) or IN_PROGRESS (ECS calls again).
package ecshook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// MaxEvent is the largest event accepted (Lambda's own limit is 6 MB; a
// hook event is a few hundred bytes).
const MaxEvent = 1 << 20

// Hook statuses.
const (
	// Succeeded lets the deployment go on.
	Succeeded = "SUCCEEDED"
	// Failed rolls the deployment back.
	Failed = "FAILED"
	// InProgress makes ECS call the hook again after CallBackDelay.
	InProgress = "IN_PROGRESS"
)

// Details are the deployment's state in a hook event.
type Details struct {
	// ServiceArn is the service being deployed.
	ServiceArn string `json:"serviceArn"`
	// TargetServiceRevisionArn is the revision being deployed.
	TargetServiceRevisionArn string `json:"targetServiceRevisionArn"`
	// TestTrafficWeights maps revision ARNs to test traffic percentages.
	TestTrafficWeights map[string]float64 `json:"testTrafficWeights,omitempty"`
	// ProductionTrafficWeights maps revision ARNs to production traffic
	// percentages.
	ProductionTrafficWeights map[string]float64 `json:"productionTrafficWeights,omitempty"`
}

// Event is what ECS sends a lifecycle hook: the deployment details, either
// under executionDetails or at the top level.
type Event struct {
	// ExecutionDetails are the deployment details.
	ExecutionDetails *Details `json:"executionDetails,omitempty"`
	// ExecutionID identifies this hook execution.
	ExecutionID string `json:"executionId,omitempty"`
	// LifecycleStage is the stage (PRE_SCALE_UP, ...).
	LifecycleStage string `json:"lifecycleStage,omitempty"`
	// ResourceArn is the service deployment.
	ResourceArn string `json:"resourceArn,omitempty"`
	// HookDetails is what the previous IN_PROGRESS answer returned, or the
	// hook's configured details.
	HookDetails json.RawMessage `json:"hookDetails,omitempty"`
	Details
}

// Response is the hook's answer.
type Response struct {
	// HookStatus is SUCCEEDED, FAILED or IN_PROGRESS.
	HookStatus string `json:"hookStatus"`
	// CallBackDelay is the seconds ECS waits before calling again
	// (IN_PROGRESS only).
	CallBackDelay int `json:"callBackDelay,omitempty"`
	// HookDetails carry the reasons, and the attempt count to the next
	// call.
	HookDetails *State `json:"hookDetails,omitempty"`
}

// State is what bulwark keeps in hookDetails.
type State struct {
	// Attempt counts the calls for this revision that answered IN_PROGRESS.
	Attempt int `json:"bulwarkAttempt,omitempty"`
	// Decision says what was decided and why.
	Decision string `json:"bulwarkDecision,omitempty"`
}

// ParseEvent decodes and checks a hook event.
func ParseEvent(b []byte) (*Event, error) {
	var ev Event
	if err := decodeEvent(b, "the hook event", &ev); err != nil {
		return nil, err
	}
	if ev.ExecutionDetails != nil {
		if ev.TargetServiceRevisionArn != "" && ev.TargetServiceRevisionArn != ev.ExecutionDetails.TargetServiceRevisionArn {
			return nil, errors.New("the hook event names two target service revisions")
		}
		ev.Details = *ev.ExecutionDetails
	}
	arn := ev.TargetServiceRevisionArn
	if arn == "" {
		return nil, errors.New("the hook event has no targetServiceRevisionArn (is this an ECS deployment lifecycle hook event?)")
	}
	if !strings.HasPrefix(arn, "arn:") || !strings.Contains(arn, ":service-revision/") {
		return nil, fmt.Errorf("targetServiceRevisionArn %q is not a service revision ARN (arn:aws:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/ID)", arn)
	}
	return &ev, nil
}

// decodeEvent decodes a payload of at most MaxEvent bytes holding one
// JSON object into v; what names the payload in errors.
func decodeEvent(b []byte, what string, v any) error {
	if len(b) > MaxEvent {
		return fmt.Errorf("%s is %d bytes, more than the %d allowed", what, len(b), MaxEvent)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s is not a JSON object: %w", what, err)
	}
	if dec.More() {
		return fmt.Errorf("%s has data after its JSON object", what)
	}
	return nil
}

// state reads bulwark's state from hookDetails; anything else there (the
// hook's configured details) is ignored.
func (ev *Event) state() State {
	var s State
	if len(ev.HookDetails) > 0 {
		_ = json.Unmarshal(ev.HookDetails, &s)
	}
	if s.Attempt < 0 {
		s.Attempt = 0
	}
	return s
}
