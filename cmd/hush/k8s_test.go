package main

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/hush-secrets/hush/sync/k8s/k8stest"
)

// TestK8sScripts runs testdata/script/k8s/*.txtar against one real
// kube-apiserver over etcd (k8stest), through the real hush-cloud, with
// KUBECONFIG the administrator's and $NS a namespace no other script uses.
func TestK8sScripts(t *testing.T) {
	t.Parallel()
	c := k8stest.Start(t)
	if _, err := hushCloud(); err != nil {
		t.Fatal(err)
	}
	kubectl := k8stest.Kubectl(t)
	var n atomic.Int64
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/script/k8s",
		RequireExplicitExec: true,
		Setup: func(e *testscript.Env) error {
			if err := scriptSetup(e); err != nil {
				return err
			}
			ns := fmt.Sprintf("script%d", n.Add(1))
			c.Namespace(t, ns)
			e.Setenv("NS", ns)
			e.Setenv("KUBECONFIG", c.Kubeconfig)
			e.Setenv("KUBECTL", kubectl)
			e.Setenv("READER_KUBECONFIG", c.UserKubeconfig(t, "hush-limited"))
			return nil
		},
		Cmds: withScriptCmds(map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// k8syaml LINE... appends a k8s: section to .hush/hush.yaml.
			"k8syaml": func(ts *testscript.TestScript, neg bool, args []string) {
				f, err := os.OpenFile(ts.MkAbs(".hush/hush.yaml"), os.O_APPEND|os.O_WRONLY, 0)
				ts.Check(err)
				_, err = f.WriteString("k8s:\n  " + strings.Join(args, "\n  ") + "\n")
				ts.Check(err)
				ts.Check(f.Close())
			},
		}),
		Condition: scriptCondition,
	})
}
