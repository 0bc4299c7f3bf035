package ecshook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/bulwark-sec/bulwark/internal/admission"
	"github.com/bulwark-sec/bulwark/internal/deployment"
)

// ECS is the part of the ECS API the hook reads.
type ECS interface {
	DescribeServiceRevisions(context.Context, *ecs.DescribeServiceRevisionsInput, ...func(*ecs.Options)) (*ecs.DescribeServiceRevisionsOutput, error)
	DescribeTaskDefinition(context.Context, *ecs.DescribeTaskDefinitionInput, ...func(*ecs.Options)) (*ecs.DescribeTaskDefinitionOutput, error)
	// ListTasks and DescribeTasks tell which digests a service still
	// runs when one of its tasks stops.
	ListTasks(context.Context, *ecs.ListTasksInput, ...func(*ecs.Options)) (*ecs.ListTasksOutput, error)
	DescribeTasks(context.Context, *ecs.DescribeTasksInput, ...func(*ecs.Options)) (*ecs.DescribeTasksOutput, error)
}

// MaxAttempts is how many times the hook answers IN_PROGRESS for one
// revision before the policy's onError decides.
const MaxAttempts = 5

// margin is kept from the Lambda's deadline to answer in time.
const margin = 2 * time.Second

// Hook decides lifecycle hook events.
type Hook struct {
	dec *admission.Decider
	ecs ECS
	log *slog.Logger
	// rep tells bulwark server what was allowed (nil: the policy has no
	// report section).
	rep *deployment.Reporter
}

// New returns a Hook that reads revisions from client and decides with dec,
// logging each answer on log; with the policy's report section, each
// allowed service revision is reported to bulwark server.
func New(dec *admission.Decider, client ECS, log *slog.Logger) *Hook {
	return &Hook{dec: dec, ecs: client, log: log, rep: deployment.NewReporter(dec.Policy().Report)}
}

// Handle answers one event. It never returns an error: whatever goes wrong
// is a FAILED answer (or, when the policy fails open and bulwark could not
// decide, SUCCEEDED) that says why.
func (h *Hook) Handle(ctx context.Context, ev *Event) Response {
	st := ev.state()
	onError := h.dec.Policy().OnError
	answer := func(status, msg string) Response {
		h.log.Info("ecs-hook", "status", status, "revision", ev.TargetServiceRevisionArn, "stage", ev.LifecycleStage, "attempt", st.Attempt, "decision", msg)
		r := Response{HookStatus: status, HookDetails: &State{Attempt: st.Attempt, Decision: msg}}
		if status == InProgress {
			r.CallBackDelay = 5
		}
		return r
	}
	// The decision's budget is what the Lambda has left, less a margin.
	budget := ctx
	if dl, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		budget, cancel = context.WithDeadline(ctx, dl.Add(-margin))
		defer cancel()
	}
	images, err := h.images(budget, ev.TargetServiceRevisionArn)
	if err != nil {
		if h.retry(budget, &st) {
			return answer(InProgress, "reading the service revision took longer than the hook allows; deciding on the next call")
		}
		var bad badRevision
		if errors.As(err, &bad) || onError == admission.FailClosed {
			return answer(Failed, fmt.Sprintf("bulwark denied [%s]: %v", onError, err))
		}
		return answer(Succeeded, fmt.Sprintf("bulwark allowed, undecided [%s]: %v", onError, err))
	}
	dec := h.dec.Decide(budget, images)
	undecided := false
	for _, v := range dec.Verdicts {
		undecided = undecided || v.Undecided
	}
	if undecided && h.retry(budget, &st) {
		return answer(InProgress, "verification took longer than the hook allows; deciding on the next call: "+dec.Message())
	}
	if dec.Allowed {
		h.report(ctx, ev, dec)
		return answer(Succeeded, dec.Message())
	}
	return answer(Failed, dec.Message())
}

// report tells bulwark server that the service's cluster runs the
// allowed digests, before answering: a Lambda is frozen once it answers.
// A failed report is logged; the answer stays.
func (h *Hook) report(ctx context.Context, ev *Event, dec *admission.Decision) {
	if h.rep == nil {
		return
	}
	// arn:aws:ecs:REGION:ACCOUNT:service-revision/CLUSTER/SERVICE/ID
	_, res, _ := strings.Cut(ev.TargetServiceRevisionArn, ":service-revision/")
	parts := strings.Split(res, "/")
	if len(parts) < 2 {
		return
	}
	var ds []deployment.Deployment
	for _, d := range dec.Digests() {
		ds = append(ds, deployment.Deployment{Platform: deployment.ECS, Cluster: parts[0], Name: parts[1], Digest: d, SeenAt: time.Now().UTC()})
	}
	if err := h.rep.Report(context.WithoutCancel(ctx), ds); err != nil {
		h.log.Warn("ecs-hook report", "revision", ev.TargetServiceRevisionArn, "err", err)
	}
}

// retry reports whether an unfinished decision should be answered
// IN_PROGRESS: the budget ran out and attempts are left.
func (h *Hook) retry(budget context.Context, st *State) bool {
	if !errors.Is(budget.Err(), context.DeadlineExceeded) || st.Attempt+1 >= MaxAttempts {
		return false
	}
	if _, ok := budget.Deadline(); !ok {
		return false
	}
	st.Attempt++
	return true
}

// badRevision is a revision bulwark can read but not accept (no
// containers, an image without a name): never allowed, whatever onError.
type badRevision struct{ error }

// images returns the images of a service revision: as ECS resolved them
// (image@digest) where it did, else as the task definition names them.
func (h *Hook) images(ctx context.Context, arn string) ([]string, error) {
	out, err := h.ecs.DescribeServiceRevisions(ctx, &ecs.DescribeServiceRevisionsInput{ServiceRevisionArns: []string{arn}})
	if err != nil {
		return nil, fmt.Errorf("DescribeServiceRevisions %s: %w", arn, err)
	}
	if len(out.ServiceRevisions) != 1 {
		var why []string
		for _, f := range out.Failures {
			why = append(why, aws.ToString(f.Reason)+" "+aws.ToString(f.Detail))
		}
		return nil, fmt.Errorf("DescribeServiceRevisions %s: %d revisions returned %s", arn, len(out.ServiceRevisions), strings.Join(why, "; "))
	}
	rev := out.ServiceRevisions[0]
	var images []string
	for _, c := range rev.ContainerImages {
		img, dig := aws.ToString(c.Image), aws.ToString(c.ImageDigest)
		if img == "" {
			return nil, badRevision{fmt.Errorf("service revision %s: container %q has no image", arn, aws.ToString(c.ContainerName))}
		}
		if dig != "" && !strings.Contains(img, "@") {
			img += "@" + dig
		}
		images = append(images, img)
	}
	if len(images) > 0 {
		return images, nil
	}
	td := aws.ToString(rev.TaskDefinition)
	if td == "" {
		return nil, badRevision{fmt.Errorf("service revision %s has neither container images nor a task definition", arn)}
	}
	tdo, err := h.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(td)})
	if err != nil {
		return nil, fmt.Errorf("DescribeTaskDefinition %s: %w", td, err)
	}
	if tdo.TaskDefinition == nil || len(tdo.TaskDefinition.ContainerDefinitions) == 0 {
		return nil, badRevision{fmt.Errorf("task definition %s has no containers", td)}
	}
	for _, c := range tdo.TaskDefinition.ContainerDefinitions {
		img := aws.ToString(c.Image)
		if img == "" {
			return nil, badRevision{fmt.Errorf("task definition %s: container %q has no image", td, aws.ToString(c.Name))}
		}
		images = append(images, img)
	}
	return images, nil
}

// Invoke answers one raw event: the Lambda handler (lambda.Handler) and
// what bulwark ecs-hook --event runs. An event that is not one is a FAILED
// answer that says why. An EventBridge event (ECS Task State Change) is
// answered with a TaskResult: a stopped service task's digests that no
// other task of the service runs are reported gone.
func (h *Hook) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	if IsTaskEvent(payload) {
		return json.Marshal(h.invokeTask(ctx, payload))
	}
	var r Response
	ev, err := ParseEvent(payload)
	if err != nil {
		h.log.Warn("ecs-hook", "status", Failed, "decision", err.Error())
		r = Response{HookStatus: Failed, HookDetails: &State{Decision: "bulwark denied: " + err.Error()}}
	} else {
		r = h.Handle(ctx, ev)
	}
	return json.Marshal(r)
}
