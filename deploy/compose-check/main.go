// compose-check loads a Compose file the way `docker compose config` does, with compose-go, the loader Docker
// Compose itself uses: .env interpolation, validation against the Compose Specification JSON schema (unknown
// keys rejected), then the model's own checks (unknown services in depends_on, bad durations, ...). It prints
// the resolved project as JSON, which deploy/test/compose.test.ts checks further. Exit 1 on any error.
//
//	go run . <compose file> [<override file>...] [<env file>...]
//
// Arguments ending in .env are env files: they replace the .env beside the first compose file, later ones
// overriding earlier ones (as `docker compose --env-file a --env-file b`), and the profiles their
// COMPOSE_PROFILES names are enabled. The others are compose files, later ones overriding earlier ones.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/sirupsen/logrus"
)

// compose-go only warns about an unset variable or an obsolete key; here every warning fails the check.
type failOnWarning struct{ count int }

func (h *failOnWarning) Levels() []logrus.Level { return []logrus.Level{logrus.WarnLevel} }
func (h *failOnWarning) Fire(*logrus.Entry) error {
	h.count++
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: compose-check <compose file> [<override file>...] [<env file>...]")
		os.Exit(2)
	}
	warnings := &failOnWarning{}
	logrus.AddHook(warnings)
	// Later files override earlier ones, as with `docker compose -f a.yml -f b.yml`.
	var files, envFiles []string
	for _, arg := range os.Args[1:] {
		file, err := filepath.Abs(arg)
		if err != nil {
			fail(err)
		}
		if strings.HasSuffix(file, ".env") {
			envFiles = append(envFiles, file)
		} else {
			files = append(files, file)
		}
	}
	if len(files) == 0 {
		fail(fmt.Errorf("no compose file"))
	}
	// Only the .env beside the first file, not this machine's environment: the result must not depend on who runs it.
	options, err := cli.NewProjectOptions(
		files,
		cli.WithWorkingDirectory(filepath.Dir(files[0])),
		cli.WithEnvFiles(envFiles...),
		cli.WithDotEnv,
		cli.WithDefaultProfiles(),
		cli.WithResolvedPaths(false),
	)
	if err != nil {
		fail(err)
	}
	project, err := options.LoadProject(context.Background())
	if err != nil {
		fail(err)
	}
	if warnings.count > 0 {
		fail(fmt.Errorf("%d warning(s) above", warnings.count))
	}
	out, err := json.MarshalIndent(project, "", "  ")
	if err != nil {
		fail(err)
	}
	fmt.Println(string(out))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compose-check:", err)
	os.Exit(1)
}
