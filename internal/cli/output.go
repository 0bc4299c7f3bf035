package cli

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bulwark-sec/bulwark/internal/atomicfile"
	"github.com/bulwark-sec/bulwark/internal/buildinfo"
	"github.com/bulwark-sec/bulwark/internal/output"
	"github.com/bulwark-sec/bulwark/internal/trivyfmt"
)

// formatFlag is a -f/--format value checked when the command line is
// parsed: a name not in the list is a usage error (exit 2) that lists the
// valid ones. Names match in any case; the value is the listed spelling.
type formatFlag struct {
	names   []string
	aliases map[string]string // another tool's name -> one of names
	value   string
}

func newFormatFlag(names ...string) formatFlag { return formatFlag{names: names, value: names[0]} }

func (f *formatFlag) String() string { return f.value }

// alias accepts name (another tool's spelling) for the format to.
func (f *formatFlag) alias(name, to string) {
	if f.aliases == nil {
		f.aliases = map[string]string{}
	}
	f.aliases[name] = to
}

func (f *formatFlag) Set(s string) error {
	if to, ok := f.aliases[strings.ToLower(s)]; ok {
		s = to
	}
	for _, n := range f.names {
		if strings.EqualFold(n, s) {
			f.value = n
			return nil
		}
	}
	return fmt.Errorf("unknown output format; want one of %s", strings.Join(f.names, ", "))
}

func (f *formatFlag) Type() string { return "format" }

// register adds -f/--format to the command.
func (f *formatFlag) register(cmd *cobra.Command) {
	cmd.Flags().VarP(f, "format", "f", "output format: "+strings.Join(f.names, "|"))
}

// outputFlags choose a command's output format, from its table in package
// output, and where the document goes.
type outputFlags[T any] struct {
	table  output.Table[T]
	format formatFlag
	output string
}

func (o *outputFlags[T]) register(cmd *cobra.Command, t output.Table[T]) {
	o.table = t
	o.format = newFormatFlag(t.Names()...)
	o.format.register(cmd)
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "write the report to this file instead of stdout")
}

// write writes doc to -o or stdout. A file is written completely or not
// at all.
func (o *outputFlags[T]) write(cmd *cobra.Command, doc T) error {
	w, err := o.table.Lookup(o.format.value)
	if err != nil {
		return usageError{err}
	}
	if o.output == "" {
		return w(cmd.OutOrStdout(), doc)
	}
	_, err = atomicfile.Write(o.output, 0o644, func(f io.Writer) error { return w(f, doc) })
	return err
}

// trivyFormats is --template and what Trivy's github and template formats
// read when the report is written.
type trivyFormats struct {
	output.Extras
	template string
}

func (t *trivyFormats) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.template, "template", "", "with -f template: a Go template (Trivy's data and functions, docs/scan.md), or @FILE")
}

// prepare parses --template for -f template; a template that does not
// parse is a usage error (exit 2). As Trivy does, --template with another
// format is ignored with a note.
func (t *trivyFormats) prepare(cmd *cobra.Command, format string) error {
	t.Env = os.Getenv
	if format != "template" {
		if t.template != "" {
			fmt.Fprintf(cmd.ErrOrStderr(), "bulwark: note: --template is ignored without -f template (the format is %s)\n", format)
		}
		return nil
	}
	if t.template == "" {
		return usageError{fmt.Errorf("-f template needs --template TEMPLATE or --template @FILE")}
	}
	tpl, err := trivyfmt.ParseTemplate(t.template, buildinfo.Version)
	if err != nil {
		return usageError{err}
	}
	t.Template = tpl
	return nil
}
