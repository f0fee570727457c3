package tasks_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"strconv"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

func ExampleProducer_Enqueue() {
	ctx := context.Background()
	producer, err := tasks.OpenProducer(redisURL())
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	job := &tasks.EasemobPushSingle{
		Targets:     []string{"alice", "bob"},
		PushMessage: tasks.PushMessage{Title: "Parcel", Content: "Your parcel has shipped"},
	}
	receipt, err := producer.Enqueue(ctx, job, tasks.Account("shop"), tasks.MaxRetry(5))
	if err != nil {
		log.Fatal(err)
	}
	for _, task := range receipt.Tasks {
		fmt.Println(task.Type, "in queue", task.Queue, "duplicate:", task.Duplicate)
	}
	// Output:
	// easemob:push.single in queue easemob duplicate: false
}

// A recipient list longer than one provider call takes is split into
// several tasks, reported in one receipt. With an idempotency key the
// parts get predictable ids.
func ExampleProducer_Enqueue_split() {
	ctx := context.Background()
	producer, err := tasks.OpenProducer(redisURL())
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	var everyone []string
	for i := range 250 {
		everyone = append(everyone, "user"+strconv.Itoa(i))
	}
	job := &tasks.EasemobPushSingle{
		Targets:     everyone,
		PushMessage: tasks.PushMessage{Title: "Sale", Content: "Everything half price today"},
	}
	receipt, err := producer.Enqueue(ctx, job, tasks.IdempotencyKey("sale-2030-01"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(receipt.IDs())
	// Output:
	// [sale-2030-01 sale-2030-01/2 sale-2030-01/3]
}

// A caller that is not sure its first attempt got through (a timeout, a
// crash) enqueues again with the same key: the receipt points at the task
// already there, and nothing is sent twice.
func ExampleIdempotencyKey() {
	ctx := context.Background()
	producer, err := tasks.OpenProducer(redisURL())
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	for range 2 {
		job := &tasks.EasemobPushSync{
			Target:      "alice",
			PushMessage: tasks.PushMessage{Title: "Order 1001", Content: "Your order is confirmed"},
		}
		receipt, err := producer.Enqueue(ctx, job, tasks.IdempotencyKey("order-1001-confirmed"))
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(receipt.Tasks[0].ID, "duplicate:", receipt.Tasks[0].Duplicate)
	}
	// Output:
	// order-1001-confirmed duplicate: false
	// order-1001-confirmed duplicate: true
}

// A job that breaks a provider's rule is refused before it reaches Redis,
// with an error naming the field and the rule.
func ExampleValidationError() {
	ctx := context.Background()
	producer, err := tasks.OpenProducer(redisURL())
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	job := &tasks.EasemobPushSingle{
		Targets:     []string{"alice", ""},
		PushMessage: tasks.PushMessage{Title: "Parcel", Content: "Your parcel has shipped"},
	}
	_, err = producer.Enqueue(ctx, job)
	var verr *tasks.ValidationError
	if errors.As(err, &verr) {
		fmt.Printf("field %s: %s\n", verr.Field, verr.Rule)
	}
	// Output:
	// field targets[1]: empty user id
}

// A job can wait in Redis until a given time; until then it is scheduled
// and can be cancelled.
func ExampleDeliverAt() {
	ctx := context.Background()
	producer, err := tasks.OpenProducer(redisURL())
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	tomorrowMorning := time.Now().Add(24 * time.Hour).Truncate(time.Hour)
	job := &tasks.EasemobPushSync{
		Target:      "alice",
		PushMessage: tasks.PushMessage{Title: "Reminder", Content: "Your appointment is today"},
	}
	receipt, err := producer.Enqueue(ctx, job, tasks.DeliverAt(tomorrowMorning))
	if err != nil {
		log.Fatal(err)
	}
	status, err := producer.Status(ctx, receipt.Tasks[0].ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status.State, "until", status.NotBefore.Equal(tomorrowMorning))
	// Output:
	// scheduled until true
}

func ExampleProducer_Cancel() {
	ctx := context.Background()
	producer, err := tasks.OpenProducer(redisURL())
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	job := &tasks.EasemobPushSync{
		Target:      "alice",
		PushMessage: tasks.PushMessage{Title: "Reminder", Content: "Your appointment is in an hour"},
	}
	receipt, err := producer.Enqueue(ctx, job, tasks.DeliverIn(time.Hour), tasks.IdempotencyKey("reminder-7"))
	if err != nil {
		log.Fatal(err)
	}
	if err := producer.Cancel(ctx, receipt.Tasks[0].ID); err != nil {
		log.Fatal(err)
	}
	_, err = producer.Status(ctx, "reminder-7")
	fmt.Println("gone:", errors.Is(err, tasks.ErrNotFound))
	// Output:
	// gone: true
}

func ExampleProducer_Status() {
	ctx := context.Background()
	producer, err := tasks.OpenProducer(redisURL())
	if err != nil {
		log.Fatal(err)
	}
	defer producer.Close()

	job := &tasks.EasemobPushAsync{
		Target:      "bob",
		PushMessage: tasks.PushMessage{Title: "Hello", Content: "Welcome aboard"},
	}
	receipt, err := producer.Enqueue(ctx, job, tasks.Account("shop"), tasks.MaxRetry(3))
	if err != nil {
		log.Fatal(err)
	}
	status, err := producer.Status(ctx, receipt.Tasks[0].ID)
	if err != nil {
		log.Fatal(err)
	}
	// No worker runs here, so the task is still waiting.
	fmt.Println(status.State, status.Account, status.Attempts, "of", status.MaxRetry, "retries used")
	// Output:
	// pending shop 0 of 3 retries used
}

// ParseStrict reads a payload a person wrote and names the field a typo
// made up.
func ExampleParseStrict() {
	payload := []byte(`{"targets": ["alice"], "pushmesage": {"title": "Hi", "content": "Hello"}}`)
	_, err := tasks.ParseStrict(tasks.TypeEasemobPushSingle, payload)
	fmt.Println(err)
	// Output:
	// easemob push.single: pushmesage: unknown field
}
