package image

import (
	"cmp"
	"container/list"
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
)

// LayerCache shares layer records ([recordLayer]) between the images of
// one run, and optionally between runs through a directory: a layer that
// many images have (a base image) is read once, and each image's tree is
// assembled from its layers' records. It is safe for concurrent use; two
// images that need the same layer at once wait for one read of it
// (single flight). Records are keyed by the layer's digest, which the
// image's manifest names and the reader verifies (a registry blob by
// go-containerregistry, a layout blob by kensa), together with the
// caller's [FlattenOptions.CacheKey] and the limits that shape a record.
//
// Memory is bounded: records beyond CacheOptions.MaxMemory are dropped,
// least recently used first (an image being flattened keeps the records
// it holds).
type LayerCache struct {
	opts  CacheOptions
	fills *fillSlots
	disk  *diskStore

	mu      sync.Mutex
	mem     map[string]*list.Element // of *memEntry
	lru     *list.List
	memUsed int64
	flights map[string]*flight
	stats   CacheStats
}

// CacheOptions configure a [LayerCache].
type CacheOptions struct {
	// MaxMemory bounds the bytes of layer records kept in memory; 0
	// means [DefaultCacheMemory].
	MaxMemory int64
	// Fills is how many layers are read from their streams at a time,
	// across the images using the cache; 0 means GOMAXPROCS (at least 2).
	Fills int
	// Dir, when set, keeps records on disk between runs
	// (created if missing; refused when group or others can write it); Codec must then encode the Examiner's
	// values and Version name the code that made them.
	Dir string
	// MaxDisk bounds the bytes of records kept in Dir; 0 means
	// [DefaultCacheDisk]. The least recently used go first.
	MaxDisk int64
	// Version names the program that makes the records (its Examiner
	// and classifier): records of another version are never used.
	Version string
	// Codec encodes Examiner values for the on-disk cache.
	Codec Codec
}

// Codec turns an [Examiner]'s values into bytes and back, for the
// on-disk cache. Unmarshal reads bytes that may have been corrupted or
// written by someone else: it must bound its work by len(b) and fail
// rather than guess.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(b []byte) (any, error)
}

// Defaults of [CacheOptions].
const (
	DefaultCacheMemory = 1 << 30
	DefaultCacheDisk   = 4 << 30
)

// CacheStats count what a [LayerCache] did.
type CacheStats struct {
	Requests   int64 // layer records asked for
	MemoryHits int64 // found in memory
	DiskHits   int64 // read from the cache directory
	Fills      int64 // layers read from their streams
	Shared     int64 // waited for another image's read of the same layer
	Evicted    int64 // records dropped from memory
	// Fallbacks counts images flattened from their streams because a
	// record lacked what they needed.
	Fallbacks   int64
	BytesFilled int64 // uncompressed bytes of the layers read
	DiskErrors  int64 // records that could not be read or written (ignored)
}

type memEntry struct {
	key string
	rec *layerRecord
}

type flight struct {
	done chan struct{}
	rec  *layerRecord
	err  error
}

// NewLayerCache makes a cache. With o.Dir it opens (creating) the
// directory and refuses one that others can write ([openDiskStore]).
func NewLayerCache(o CacheOptions) (*LayerCache, error) {
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultCacheMemory
	}
	if o.Fills <= 0 {
		o.Fills = max(runtime.GOMAXPROCS(0), 2)
	}
	if o.MaxDisk <= 0 {
		o.MaxDisk = DefaultCacheDisk
	}
	c := &LayerCache{
		opts:    o,
		fills:   newFillSlots(o.Fills),
		mem:     map[string]*list.Element{},
		lru:     list.New(),
		flights: map[string]*flight{},
	}
	if o.Dir != "" {
		if o.Codec == nil || o.Version == "" {
			return nil, errors.New("a layer cache directory needs a codec and a version")
		}
		d, err := openDiskStore(o.Dir, o.MaxDisk, o.Version, o.Codec)
		if err != nil {
			return nil, err
		}
		c.disk = d
	}
	return c, nil
}

// Stats returns the counts so far.
func (c *LayerCache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// cachedLayer is one layer of an image to flatten through the cache.
type cachedLayer struct {
	digest string
	size   int64 // compressed, as the manifest says; 0 when unknown
	open   LayerOpener
	// queued (may be nil) is closed when the layer's record is being
	// read, or waits to be: a fill slot held or asked for
	// (fillSlots.acquire), or another image's read of it awaited.
	queued *signal
}

// recordKey is a record's key: the layer, and what shapes its record.
func recordKey(digest string, opts FlattenOptions) string {
	lim := opts.Limits
	return fmt.Sprintf("%s\x00%s\x00%d/%d/%d", digest, opts.CacheKey, lim.MaxExamine, lim.MaxRetainFile, lim.MaxRetainTotal)
}

// get returns the record of a layer: from memory, from disk, from
// another image's read in flight, or read now.
func (c *LayerCache) get(ctx context.Context, l cachedLayer, opts FlattenOptions, progress func(int, int64)) (*layerRecord, error) {
	key := recordKey(l.digest, opts)
	c.mu.Lock()
	c.stats.Requests++
	for {
		if el, ok := c.mem[key]; ok {
			c.lru.MoveToFront(el)
			c.stats.MemoryHits++
			c.mu.Unlock()
			return el.Value.(*memEntry).rec, nil
		}
		f, ok := c.flights[key]
		if !ok {
			break
		}
		c.stats.Shared++
		c.mu.Unlock()
		l.queued.close()
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err == nil {
			return f.rec, nil
		}
		if !isCanceled(f.err) || ctx.Err() != nil {
			return nil, f.err
		}
		// The image that was reading it gave up; read it for this one.
		c.mu.Lock()
		c.stats.Shared--
	}
	f := &flight{done: make(chan struct{})}
	c.flights[key] = f
	c.mu.Unlock()

	f.rec, f.err = c.load(ctx, key, l, opts, progress)

	c.mu.Lock()
	delete(c.flights, key)
	if f.err == nil {
		c.keep(key, f.rec)
	}
	c.mu.Unlock()
	close(f.done)
	return f.rec, f.err
}

func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// load reads a record from the cache directory or the layer's stream.
func (c *LayerCache) load(ctx context.Context, key string, l cachedLayer, opts FlattenOptions, progress func(int, int64)) (*layerRecord, error) {
	if c.disk != nil {
		rec, err := c.disk.load(key)
		if err == nil && rec != nil {
			c.count(func(s *CacheStats) { s.DiskHits++ })
			return rec, nil
		}
		if err != nil {
			c.count(func(s *CacheStats) { s.DiskErrors++ })
		}
	}
	if err := c.fills.acquire(ctx, l.size, l.queued); err != nil {
		return nil, err
	}
	defer c.fills.release()
	rc, err := l.open()
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	rec, err := recordLayer(ctxReader{ctx: ctx, r: rc}, opts, progress)
	if err != nil {
		return nil, err
	}
	c.count(func(s *CacheStats) { s.Fills++; s.BytesFilled += rec.streamBytes })
	if c.disk != nil {
		if err := c.disk.save(key, rec); err != nil {
			c.count(func(s *CacheStats) { s.DiskErrors++ })
		}
	}
	return rec, nil
}

func (c *LayerCache) count(f func(*CacheStats)) {
	c.mu.Lock()
	f(&c.stats)
	c.mu.Unlock()
}

// keep adds a record to memory and drops the least recently used ones
// beyond the bound. c.mu is held.
func (c *LayerCache) keep(key string, rec *layerRecord) {
	if rec.mem > c.opts.MaxMemory {
		return
	}
	c.mem[key] = c.lru.PushFront(&memEntry{key: key, rec: rec})
	c.memUsed += rec.mem
	for c.memUsed > c.opts.MaxMemory {
		el := c.lru.Back()
		e := el.Value.(*memEntry)
		c.lru.Remove(el)
		delete(c.mem, e.key)
		c.memUsed -= e.rec.mem
		c.stats.Evicted++
	}
}

// ctxReader stops a layer read when its context ends.
type ctxReader struct {
	ctx context.Context
	r   interface{ Read([]byte) (int, error) }
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

// flattenCached flattens an image from its layers' records: the records
// are asked for all at once (the cache bounds how many layers are read
// at a time, so the layers of one image are decompressed in parallel)
// and replayed top-down as they arrive, through the same code as live
// streams.
func flattenCached(ctx context.Context, c *LayerCache, layers []cachedLayer, opts FlattenOptions) (*FS, error) {
	opts = flattenDefaults(opts)
	fctx, cancel := context.WithCancel(ctx)
	type got struct {
		rec  *layerRecord
		err  error
		done chan struct{}
	}
	res := make([]got, len(layers))
	var wg sync.WaitGroup
	defer func() {
		// Reads still going on for this image stop (another image
		// waiting for one of them reads that layer itself).
		cancel()
		wg.Wait()
	}()
	var progMu sync.Mutex
	for i := range layers {
		res[i].done = make(chan struct{})
	}
	// Started largest first, each once the one before holds or waits for
	// a fill slot (or needed none), so that they ask for slots in that
	// order: the image's largest layers are read first (fillSlots).
	order := make([]int, len(layers))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(layers[b].size, layers[a].size) })
	for _, i := range order {
		l := layers[i]
		l.queued = newSignal()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(res[i].done)
			var progress func(int, int64)
			if opts.Progress != nil {
				progress = func(n int, b int64) {
					progMu.Lock()
					defer progMu.Unlock()
					opts.Progress(Stats{Layers: len(layers), Entries: n, UncompressedSize: b}, i)
				}
			}
			res[i].rec, res[i].err = c.get(fctx, l, opts, progress)
		}()
		select {
		case <-l.queued.ch:
		case <-res[i].done:
		}
	}
	fl := newFlattener(ctx, opts, len(layers))
	if opts.Progress != nil {
		p := opts.Progress
		fl.opts.Progress = func(s Stats, layer int) {
			progMu.Lock()
			defer progMu.Unlock()
			p(s, layer)
		}
	}
	for i := len(layers) - 1; i >= 0; i-- {
		select {
		case <-res[i].done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := res[i].err; err != nil {
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(layers), err)
		}
		rec := res[i].rec
		fl.fs.Stats.UncompressedSize += rec.streamBytes
		if fl.fs.Stats.UncompressedSize > opts.Limits.MaxUncompressed {
			return nil, fmt.Errorf("layer %d of %d: %w: more than %d uncompressed bytes", i+1, len(layers), ErrLimit, opts.Limits.MaxUncompressed)
		}
		if err := fl.entries(i, &recordSource{rec: rec}); err != nil {
			if errors.Is(err, errRecordIncomplete) {
				c.count(func(s *CacheStats) { s.Fallbacks++ })
				return nil, err
			}
			return nil, fmt.Errorf("layer %d of %d: %w", i+1, len(layers), err)
		}
	}
	fl.finish()
	return fl.fs, nil
}
