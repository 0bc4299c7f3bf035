// Package postgres starts a throwaway PostgreSQL server for tests: Debian's
// postgresql package's initdb and postgres, run as the unprivileged user
// nobody in a temporary folder, listening on 127.0.0.1 on a free port, and
// stopped by its PID when the test ends. Without PostgreSQL installed the
// test is skipped, or fails under BULWARK_INTEGRATION=1.
package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/bulwark-sec/bulwark/internal/testutil"
)

// Server is a running PostgreSQL server.
type Server struct {
	// Port is the TCP port on 127.0.0.1.
	Port int
	pid  int
	n    int
}

// bin finds the binaries of the newest installed PostgreSQL.
func bin(t testing.TB) string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(dirs) == 0 {
		if testutil.Integration() {
			t.Fatal("PostgreSQL is not installed (apt-get install postgresql); .ci/run installs it")
		}
		t.Skip("PostgreSQL is not installed (apt-get install postgresql)")
	}
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return a < b
	})
	return filepath.Dir(dirs[len(dirs)-1])
}

// Start runs a new PostgreSQL server for the test; it is stopped when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	dir := bin(t)
	if os.Geteuid() != 0 {
		t.Skip("starting PostgreSQL as nobody needs root")
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	root, err := os.MkdirTemp("", "bulwark-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(root) })
	data := filepath.Join(root, "data")
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(root, uid, gid); err != nil {
		t.Fatal(err)
	}
	asNobody := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(dir, name), args...)
		c.Dir = root
		c.Env = []string{"PATH=/usr/bin:/bin", "LC_ALL=C", "HOME=" + root}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		return c
	}
	if out, err := asNobody("initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := freePort(t)
	srv := asNobody("postgres", "-D", data, "-p", strconv.Itoa(port), "-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
	logf, err := os.Create(filepath.Join(root, "log"))
	if err != nil {
		t.Fatal(err)
	}
	srv.Stdout, srv.Stderr = logf, logf
	srv.SysProcAttr.Setpgid = true
	if err := srv.Start(); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	s := &Server{Port: port, pid: srv.Process.Pid}
	exited := make(chan struct{})
	go func() { srv.Wait(); logf.Close(); close(exited) }()
	t.Cleanup(func() {
		// SIGQUIT: immediate shutdown of the server we started.
		syscall.Kill(s.pid, syscall.SIGQUIT)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			syscall.Kill(s.pid, syscall.SIGKILL)
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, err := sql.Open("pgx", s.url("postgres"))
		if err == nil {
			err = db.Ping()
			db.Close()
		}
		if err == nil {
			return s
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(root, "log"))
			t.Fatalf("postgres exited: %s", log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("postgres did not start in 30s: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func freePort(t testing.TB) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// NewDB creates an empty database and returns its URL.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	s.n++
	name := "test" + strconv.Itoa(s.n)
	db, err := sql.Open("pgx", s.url("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return s.url(name)
}

// URL starts a server for the test and returns the URL of an empty
// database on it.
func URL(t testing.TB) string {
	t.Helper()
	return Start(t).NewDB(t)
}

// CPUSeconds is the CPU time (user+system) the server's processes have
// used so far: the postmaster, its children running (connection
// backends, workers: each in a session of its own, so found by parent,
// not by process group) and the ended ones it reaped, from /proc.
func (s *Server) CPUSeconds() float64 {
	const hz = 100 // USER_HZ on Linux
	var ticks int64
	dirs, _ := os.ReadDir("/proc")
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil {
			continue
		}
		// The fields after the command's closing parenthesis: state is 3,
		// ppid 4, utime 14, stime 15, cutime 16, cstime 17.
		i := strings.LastIndexByte(string(b), ')')
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 15 || (pid != s.pid && f[1] != strconv.Itoa(s.pid)) {
			continue
		}
		n := 2
		if pid == s.pid {
			n = 4
		}
		for _, v := range f[11 : 11+n] {
			x, _ := strconv.ParseInt(v, 10, 64)
			ticks += x
		}
	}
	return float64(ticks) / hz
}
