package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// BuildCoattail builds the coattail binary into dir and returns its path, for tests
// that run it as a subprocess the way operators and other tools do. The repository
// root is found from the working directory (a package directory under it).
func BuildCoattail(dir string) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "coattail")
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	build := exec.Command(goBin, "build", "-o", bin, "./cmd/coattail")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build coattail: %v\n%s", err, out)
	}
	return bin, nil
}

// RunWithCoattail is a TestMain body for packages whose tests run the binary: it
// builds coattail into a temporary directory, stores its path in *bin, runs the tests
// and removes the directory; the result is the exit code for os.Exit.
func RunWithCoattail(m *testing.M, bin *string) int {
	dir, err := os.MkdirTemp("", "coattail-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if *bin, err = BuildCoattail(dir); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
