package inventory

import (
	"sort"

	"github.com/bulwark-sec/bulwark/internal/boot"
	"github.com/bulwark-sec/bulwark/internal/finding"
)

// kernels lists the kernel releases the packages install, finds the one
// the boot loader starts from the boot files among the results, and marks
// that kernel's packages. It returns nil when the target has neither
// kernel packages nor boot loader files (a container image).
func kernels(visible []*fileResult, pkgs []Package, warnings []string) (*finding.Kernel, []string) {
	var files []*boot.File
	for _, r := range visible {
		if r.Boot != nil {
			files = append(files, r.Boot)
		}
	}
	installed := map[string]bool{}
	release := make([]string, len(pkgs))
	for i := range pkgs {
		p := &pkgs[i]
		if p.Kind == KindOS {
			release[i] = boot.PackageRelease(p.Name, p.Version, p.Arch, p.Ecosystem == RPM)
			if release[i] != "" {
				installed[release[i]] = true
			}
		}
	}
	choice := boot.Resolve(files)
	if choice == nil && len(installed) == 0 {
		return nil, warnings
	}
	k := &finding.Kernel{}
	for r := range installed {
		k.Installed = append(k.Installed, r)
	}
	sort.Strings(k.Installed)
	switch {
	case choice != nil:
		k.Booted, k.Entry, k.Reason = choice.Release, choice.Entry, choice.Reason
		warnings = append(warnings, choice.Warnings...)
		if k.Booted != "" && len(installed) > 0 && !installed[k.Booted] {
			warnings = append(warnings, "the boot loader starts kernel "+k.Booted+", which no installed package provides")
		}
	case len(k.Installed) == 1:
		k.Booted, k.Reason = k.Installed[0], "the only installed kernel (no boot loader configuration found)"
	default:
		k.Reason = "no boot loader configuration found"
	}
	for i := range pkgs {
		if release[i] != "" && release[i] == k.Booted {
			pkgs[i].BootedKernel = true
		}
	}
	return k, warnings
}
