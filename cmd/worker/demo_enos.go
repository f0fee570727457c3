package main

import (
	"fmt"
	"io"
	"sort"
	"text/tabwriter"

	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// enqueueEnOS enqueues the EnOS part of the demo: 150 to-do messages, which
// the producer splits into two calls of 100 and 50.
func enqueueEnOS(enqueue func(what string, job tasks.Job, opts ...tasks.Option)) {
	one := 1
	msgs := make([]tasks.EnOSMessage, 150)
	for i := range msgs {
		msgs[i] = tasks.EnOSMessage{
			MessageID: fmt.Sprintf("demo-todo-%03d", i+1), MessageType: &one, AppID: "herald-demo",
			Header:     &tasks.I18n{DefaultValue: fmt.Sprintf("Inspect turbine %d", i+1), I18nValue: map[string]string{"zh_CN": fmt.Sprintf("检查风机 %d", i+1)}},
			Body:       &tasks.I18n{DefaultValue: "Hello from the Herald demo"},
			TargetType: &one, Targets: []string{fmt.Sprintf("engineer%02d", i%20+1)},
		}
	}
	enqueue("enos notice.produce, 150 messages", &tasks.EnOSNoticeProduce{OrgID: enossim.DefaultOrgID, Messages: msgs})
}

// showEnOS prints what the EnOS simulator received: calls and pushes.
func showEnOS(out io.Writer, d *worker.Demo) {
	calls := 0
	for _, c := range d.EnOS.Calls() {
		if c.Endpoint == enossim.Produce && c.Status == 200 && c.Error == "" {
			calls++
		}
	}
	perUser := map[string]int{}
	for _, r := range d.EnOS.Records() {
		perUser[r.User]++
	}
	users := make([]string, 0, len(perUser))
	for u := range perUser {
		users = append(users, u)
	}
	sort.Strings(users)
	fmt.Fprintf(out, "\nWhat the EnOS simulator received: %d signed produce calls, %d messages, %d pushes:\n",
		calls, len(d.EnOS.Messages()), len(d.EnOS.Records()))
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USER\tMESSAGES")
	for i, u := range users {
		if i == 3 && len(users) > 4 {
			fmt.Fprintf(tw, "…\t(%d more users)\n", len(users)-4)
			u = users[len(users)-1]
		} else if i > 3 {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\n", u, perUser[u])
	}
	tw.Flush()
}
