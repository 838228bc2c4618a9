package session

import (
	"strconv"
	"testing"
	"time"
)

// BenchmarkClaimFinish measures handling one message's dedupe: claim its
// key, then keep its reply.
func BenchmarkClaimFinish(b *testing.B) {
	b.Run("Memory", func(b *testing.B) { benchClaimFinish(b, NewMemory()) })
	b.Run("Redis", func(b *testing.B) { benchClaimFinish(b, newTestRedis(b)) })
}

func benchClaimFinish(b *testing.B, s Store) {
	ctx := b.Context()
	i := 0
	for b.Loop() {
		key := "m" + strconv.Itoa(i)
		i++
		ok, err := s.Claim(ctx, key, time.Minute)
		if err != nil || !ok {
			b.Fatalf("Claim %s = %v, %v", key, ok, err)
		}
		if err := s.Finish(ctx, key, "reply", time.Minute); err != nil {
			b.Fatal(err)
		}
	}
}
