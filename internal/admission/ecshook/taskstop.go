package ecshook

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/bulwark-sec/bulwark/internal/deployment"
)

// TaskStateChange is the detail-type of the events EventBridge delivers
// when an ECS task changes state.
const TaskStateChange = "ECS Task State Change"

// TaskEvent is an "ECS Task State Change" event as EventBridge delivers
// it to a Lambda function (the fields bulwark reads).
type TaskEvent struct {
	// DetailType is TaskStateChange.
	DetailType string `json:"detail-type"`
	// Source is "aws.ecs".
	Source string `json:"source"`
	// Time is when the event happened.
	Time time.Time `json:"time"`
	// Detail is the task.
	Detail Task `json:"detail"`
}

// Task is the task of a TaskEvent.
type Task struct {
	// ClusterArn is the task's cluster.
	ClusterArn string `json:"clusterArn"`
	// TaskArn is the task.
	TaskArn string `json:"taskArn"`
	// Group is "service:NAME" for a service's task ("family:NAME" for one
	// run on its own).
	Group string `json:"group"`
	// LastStatus is the task's state (RUNNING, STOPPED, ...).
	LastStatus string `json:"lastStatus"`
	// StoppedAt is when it stopped.
	StoppedAt *time.Time `json:"stoppedAt,omitempty"`
	// Containers are its containers; ImageDigest is set for images from
	// Amazon ECR.
	Containers []struct {
		Name        string `json:"name"`
		Image       string `json:"image"`
		ImageDigest string `json:"imageDigest"`
	} `json:"containers"`
}

// IsTaskEvent reports whether a payload is an EventBridge event (it
// has a detail-type) rather than a lifecycle hook event.
func IsTaskEvent(b []byte) bool {
	var probe struct {
		DetailType *string `json:"detail-type"`
	}
	return json.Unmarshal(b, &probe) == nil && probe.DetailType != nil
}

var (
	clusterArnRE = regexp.MustCompile(`^arn:[a-z-]+:ecs:[a-z0-9-]+:[0-9]{12}:cluster/([A-Za-z0-9_-]{1,255})$`)
	serviceRE    = regexp.MustCompile(`^service:([A-Za-z0-9_-]{1,255})$`)
	digestRE     = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// ParseTaskEvent decodes and checks an ECS Task State Change event.
func ParseTaskEvent(b []byte) (*TaskEvent, error) {
	var ev TaskEvent
	if err := decodeEvent(b, "the EventBridge event", &ev); err != nil {
		return nil, err
	}
	if ev.DetailType != TaskStateChange || ev.Source != "aws.ecs" {
		return nil, fmt.Errorf("detail-type %q source %q: want %q from aws.ecs (route only ECS task state changes to the hook)", ev.DetailType, ev.Source, TaskStateChange)
	}
	if !clusterArnRE.MatchString(ev.Detail.ClusterArn) {
		return nil, fmt.Errorf("detail.clusterArn %.80q is not an ECS cluster ARN", ev.Detail.ClusterArn)
	}
	return &ev, nil
}

// taskStopped reports a stopped service task's digests gone from its
// service, except those another task of the service still runs (asked of
// ECS: ListTasks and DescribeTasks). It reports nothing for a task that
// did not stop, one of no service, or when ECS cannot say what still runs:
// a deployment is never reported gone on a guess.
func (h *Hook) taskStopped(ctx context.Context, ev *TaskEvent) (int, error) {
	t := ev.Detail
	m := serviceRE.FindStringSubmatch(t.Group)
	if t.LastStatus != "STOPPED" || m == nil || h.rep == nil {
		return 0, nil
	}
	cluster, service := clusterArnRE.FindStringSubmatch(t.ClusterArn)[1], m[1]
	stopped := map[string]bool{}
	for _, c := range t.Containers {
		if digestRE.MatchString(c.ImageDigest) {
			stopped[c.ImageDigest] = true
		}
	}
	if len(stopped) == 0 {
		return 0, nil
	}
	running, err := h.serviceDigests(ctx, t.ClusterArn, service, t.TaskArn)
	if err != nil {
		return 0, err
	}
	at := ev.Time
	if t.StoppedAt != nil {
		at = *t.StoppedAt
	}
	if at.IsZero() {
		at = time.Now()
	}
	at = at.UTC()
	var ds []deployment.Deployment
	for d := range stopped {
		if !running[d] {
			ds = append(ds, deployment.Deployment{Platform: deployment.ECS, Cluster: cluster, Name: service, Digest: d, SeenAt: at, GoneAt: &at})
		}
	}
	return len(ds), h.rep.Report(ctx, ds)
}

// serviceDigests are the image digests of a service's tasks that are
// to run (desired status RUNNING), other than the task skip.
func (h *Hook) serviceDigests(ctx context.Context, cluster, service, skip string) (map[string]bool, error) {
	out := map[string]bool{}
	p := ecs.NewListTasksPaginator(h.ecs, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: types.DesiredStatusRunning})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("ListTasks %s %s: %w", cluster, service, err)
		}
		var arns []string
		for _, a := range page.TaskArns {
			if a != skip {
				arns = append(arns, a)
			}
		}
		for len(arns) > 0 {
			n := min(len(arns), 100)
			tasks, err := h.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns[:n]})
			if err != nil {
				return nil, fmt.Errorf("DescribeTasks %s: %w", cluster, err)
			}
			if len(tasks.Failures) > 0 {
				f := tasks.Failures[0]
				return nil, fmt.Errorf("DescribeTasks %s: %s %s", aws.ToString(f.Arn), aws.ToString(f.Reason), aws.ToString(f.Detail))
			}
			for _, task := range tasks.Tasks {
				for _, c := range task.Containers {
					out[aws.ToString(c.ImageDigest)] = true
				}
			}
			arns = arns[n:]
		}
	}
	return out, nil
}

// TaskResult is what the hook answers an ECS Task State Change event
// (EventBridge ignores it; bulwark logs it).
type TaskResult struct {
	// Gone counts the digests reported gone from the task's service.
	Gone int `json:"gone"`
	// Error says why nothing was reported.
	Error string `json:"error,omitempty"`
}

// invokeTask answers one ECS Task State Change event.
func (h *Hook) invokeTask(ctx context.Context, payload []byte) TaskResult {
	ev, err := ParseTaskEvent(payload)
	if err == nil {
		var n int
		n, err = h.taskStopped(ctx, ev)
		if err == nil {
			if n > 0 {
				h.log.Info("ecs-task", "task", ev.Detail.TaskArn, "group", ev.Detail.Group, "gone", n)
			}
			return TaskResult{Gone: n}
		}
	}
	h.log.Warn("ecs-task", "err", err)
	return TaskResult{Error: strings.TrimSpace(err.Error())}
}
