package worker

import (
	"slices"
	"testing"
)

func TestSplitConcurrency(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []int
	}{
		{1, []int{1}},
		{9, []int{9}},
		{10, []int{10}},
		{20, []int{10, 10}},
		{25, []int{13, 12}},
		{31, []int{11, 10, 10}},
		{1000, []int{250, 250, 250, 250}},
		{1001, []int{251, 250, 250, 250}},
	} {
		got := splitConcurrency(tc.n)
		if !slices.Equal(got, tc.want) {
			t.Errorf("splitConcurrency(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}
