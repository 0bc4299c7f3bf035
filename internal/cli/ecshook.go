package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/admission/ecshook"
	"github.com/bulwark-sec/bulwark/internal/policy"
)

func newECSHookCmd() *cobra.Command {
	var (
		af    admissionFlags
		event string
	)
	cmd := &cobra.Command{
		Use:   "ecs-hook [--event FILE] (--policy FILE | --key KEYREF...)",
		Short: "Answer ECS deployment lifecycle hooks: roll back a deployment whose images the policy denies",
		Long: `Run as an AWS Lambda function (custom runtime: cmd/bulwark-ecs-hook built as
"bootstrap") attached to an ECS service's deployment lifecycle hooks. For
each event it reads the target service revision (DescribeServiceRevisions,
and DescribeTaskDefinition when the revision lists no images), decides on
every container image with the policy, and answers SUCCEEDED or FAILED (ECS
rolls back) with the reasons in the log line and in hookDetails. When the
decision cannot finish before the Lambda's deadline it answers IN_PROGRESS
and decides on the next call.

The policy comes from --policy/--key or the BULWARK_POLICY / BULWARK_KEY
environment variables (Lambda has no command line). With --event FILE it
decides one event locally and prints the answer: exit 0 for SUCCEEDED, 1
otherwise, 2 when it could not run. See docs/admission.md.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewJSONHandler(cmd.ErrOrStderr(), nil))
			var payload []byte
			if event != "" {
				var err error
				if payload, err = readLimited(event, ecshook.MaxEvent); err != nil {
					return fmt.Errorf("--event: %w", err)
				}
				if _, err := ecshook.ParseEvent(payload); err != nil {
					return fmt.Errorf("--event %s: %w", event, err)
				}
			} else if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
				return usageError{errors.New("not running in AWS Lambda (AWS_LAMBDA_RUNTIME_API is not set): give --event FILE to decide one event here")}
			}
			dec, err := af.decider(cmd, log)
			if err != nil {
				return err
			}
			cfg, err := config.LoadDefaultConfig(cmd.Context())
			if err != nil {
				return fmt.Errorf("AWS configuration: %w", err)
			}
			hook := ecshook.New(dec, ecs.NewFromConfig(cfg), log)
			if event == "" {
				lambda.StartHandlerWithContext(cmd.Context(), hook)
				return nil
			}
			out, err := hook.Invoke(cmd.Context(), payload)
			if err != nil {
				return err
			}
			var r ecshook.Response
			if err := json.Unmarshal(out, &r); err != nil {
				return err
			}
			if err := writeJSON(cmd, r); err != nil {
				return err
			}
			if r.HookStatus != ecshook.Succeeded {
				return &policy.GateError{Code: policy.ExitFailed, Msg: fmt.Sprintf("hookStatus %s: %s", r.HookStatus, r.HookDetails.Decision)}
			}
			return nil
		},
	}
	af.register(cmd)
	cmd.Flags().StringVar(&event, "event", "", "decide this lifecycle hook event (JSON file) and print the answer, instead of serving Lambda")
	return cmd
}
