package wechat

import (
	"sync"
	"testing"
	"time"
)

// TestMemoryCacheConcurrent is meant for -race: readers and writers at once.
func TestMemoryCacheConcurrent(t *testing.T) {
	c := NewMemoryCache()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				if (i+j)%3 == 0 {
					c.Set("token", "t", time.Hour)
				} else if (i+j)%7 == 0 {
					c.Delete("token")
				} else {
					c.IsExist("token")
					c.Get("token")
				}
			}
		}()
	}
	wg.Wait()
	c.Set("k", "v", time.Hour)
	c.Set("gone", "v", -time.Second)
	if c.Get("k") != "v" || !c.IsExist("k") || c.Get("gone") != nil || c.IsExist("missing") {
		t.Fatal("cache lost or kept the wrong values")
	}
}
