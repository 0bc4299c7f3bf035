// Package analyzers is the one list of inventory analyzers.
package analyzers

import (
	"github.com/bulwark-sec/bulwark/internal/inventory"
	"github.com/bulwark-sec/bulwark/internal/inventory/apk"
	"github.com/bulwark-sec/bulwark/internal/inventory/binary"
	"github.com/bulwark-sec/bulwark/internal/inventory/bootloader"
	"github.com/bulwark-sec/bulwark/internal/inventory/dotnet"
	"github.com/bulwark-sec/bulwark/internal/inventory/dpkg"
	"github.com/bulwark-sec/bulwark/internal/inventory/java"
	"github.com/bulwark-sec/bulwark/internal/inventory/npm"
	"github.com/bulwark-sec/bulwark/internal/inventory/osrelease"
	"github.com/bulwark-sec/bulwark/internal/inventory/php"
	"github.com/bulwark-sec/bulwark/internal/inventory/python"
	"github.com/bulwark-sec/bulwark/internal/inventory/rpm"
	"github.com/bulwark-sec/bulwark/internal/inventory/ruby"
	"github.com/bulwark-sec/bulwark/internal/inventory/rust"
)

// All returns every analyzer, OS identification and OS packages first.
func All() []inventory.Analyzer {
	return []inventory.Analyzer{
		osrelease.Analyzer{},
		dpkg.Analyzer{},
		apk.Analyzer{},
		rpm.Analyzer{},
		binary.Analyzer{},
		bootloader.Analyzer{},
		npm.Installed{},
		npm.Lockfiles{},
		python.Installed{},
		python.Lockfiles{},
		java.Archives{},
		java.BuildFiles{},
		ruby.Gemspecs{},
		ruby.Lockfile{},
		rust.Lockfile{},
		php.Analyzer{},
		dotnet.Analyzer{},
	}
}
