package enos_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/providers/enos"
	"github.com/herald-dispatch/herald/providers/enos/enossim"
	"github.com/herald-dispatch/herald/tasks"
)

// A to-do notice to two users, against the simulator. The client signs
// every call (apim-signature over the token, the sorted query, the exact
// body and the timestamp). Sending the same messageId again is harmless:
// EnOS only sends a known message, and never twice to a user, which is
// what makes a retried produce call safe.
func Example() {
	sim := enossim.New(enossim.Options{})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()

	c := enos.New(enos.Config{
		BaseURL: url, AppKey: enossim.DefaultAppKey, AppSecret: enossim.DefaultAppSecret,
		// Tokens: providers.NewTokenCache(rdb) and Redis: rdb to share the
		// token and unique timestamps with every replica.
	})
	todo := 1  // messageType: 1 (to-do) is the only type
	users := 1 // targetType: 1 the listed users, 0 everyone in the OU
	job := &tasks.EnOSNoticeProduce{OrgID: enossim.DefaultOrgID, Messages: []tasks.EnOSMessage{{
		MessageID: "ticket-7-assigned", MessageType: &todo, AppID: "app-access-key",
		Header:     &tasks.I18n{DefaultValue: "Ticket 7", I18nValue: map[string]string{"zh_CN": "工单 7", "en_US": "Ticket 7"}},
		Body:       &tasks.I18n{DefaultValue: "Assigned to you"},
		TargetType: &users, Targets: []string{"u-ann", "u-bob"},
	}}}
	for range 2 { // the second call stands for a retry
		res, err := c.Produce(context.Background(), job)
		if err != nil {
			panic(err)
		}
		fmt.Println("sent", res.MessageIDs)
	}
	fmt.Println("pushes:", sim.Deliveries())
	// Output:
	// sent [ticket-7-assigned]
	// sent [ticket-7-assigned]
	// pushes: map[ticket-7-assigned:map[u-ann:1 u-bob:1]]
}

// A call is all or nothing: one bad message (here a new one without its
// messageType) refuses the whole call, permanently.
func Example_errors() {
	sim := enossim.New(enossim.Options{})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer sim.Close()
	c := enos.New(enos.Config{BaseURL: url, AppKey: enossim.DefaultAppKey, AppSecret: enossim.DefaultAppSecret})

	todo, users := 1, 1
	good := tasks.EnOSMessage{MessageID: "m1", MessageType: &todo, AppID: "app-access-key", TargetType: &users, Targets: []string{"u-ann"}}
	bad := good
	bad.MessageID, bad.MessageType = "m2", nil
	_, err = c.Produce(context.Background(), &tasks.EnOSNoticeProduce{OrgID: enossim.DefaultOrgID, Messages: []tasks.EnOSMessage{good, bad}})
	var pe *providers.Error
	if errors.As(err, &pe) {
		fmt.Println(pe.Class, "code", pe.Code)
	}
	fmt.Println("pushes:", len(sim.Records()))
	// Output:
	// permanent code 31400
	// pushes: 0
}
