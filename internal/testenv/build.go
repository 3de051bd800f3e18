package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
