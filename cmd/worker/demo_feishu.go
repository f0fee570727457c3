package main

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// enqueueFeishu enqueues the demo's Feishu job: an approved helpdesk
// notification, sent by Feishu in an hour.
func enqueueFeishu(enqueue func(string, tasks.Job, ...tasks.Option)) {
	enqueue("feishu execute_send, send_at in 1h", &tasks.FeishuExecuteSend{
		NotificationID: "6985032626234982420", SendAt: tasks.FeishuSendAt(time.Now().Add(time.Hour)),
	})
}

// showFeishu prints what the Feishu simulator accepted.
func showFeishu(out io.Writer, d *worker.Demo) {
	fmt.Fprintln(out, "\nWhat the Feishu simulator received (with a user token from a rotated refresh token):")
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NOTIFICATION\tSEND AT\tHELPDESK")
	for _, r := range d.Feishu.Received() {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.NotificationID, r.SendAt, r.Helpdesk)
	}
	tw.Flush()
}
