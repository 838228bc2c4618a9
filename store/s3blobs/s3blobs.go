// Package s3blobs keeps the bytes of photos in S3-compatible object
// storage (AWS S3, MinIO, Ceph, the object storage of Chinese clouds):
// the sqldb.Blobs selected by GRIDBOT_PHOTO_STORE=s3://bucket/prefix.
package s3blobs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"gridbot/flows"
	"gridbot/store/sqldb"
)

// Config says where the objects go and how to reach them.
type Config struct {
	// URL is s3://bucket or s3://bucket/prefix: objects are named
	// prefix/ID (originals) and prefix/thumbs/ID (thumbnails).
	URL string
	// Endpoint is the service's base URL, such as https://s3.amazonaws.com
	// or http://127.0.0.1:9000; https means TLS.
	Endpoint string
	// AccessKey and SecretKey are the credentials; both empty means
	// anonymous requests.
	AccessKey, SecretKey string
	// Region is the bucket's region; empty lets the client ask.
	Region string
	// Transport, when not nil, carries the requests (tests use it).
	Transport http.RoundTripper
}

// ParseURL splits s3://bucket/prefix into bucket and prefix (without
// slashes at either end). The bucket name follows S3's rules loosely:
// 3–63 lowercase letters, digits, dots and hyphens.
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.User != nil {
		return "", "", errors.New("want s3://bucket or s3://bucket/prefix")
	}
	bucket = u.Host
	if len(bucket) < 3 || len(bucket) > 63 || strings.Trim(bucket, "abcdefghijklmnopqrstuvwxyz0123456789.-") != "" {
		return "", "", fmt.Errorf("bucket %q is not 3–63 lowercase letters, digits, dots or hyphens", bucket)
	}
	return bucket, strings.Trim(u.Path, "/"), nil
}

// ParseEndpoint reads an endpoint URL into the host[:port] the client
// dials and whether it uses TLS.
func ParseEndpoint(raw string) (host string, secure bool, err error) {
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		// Not quoted: it holds a secret.
		return "", false, errors.New("must not hold credentials (set the access and secret keys on their own)")
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
		return "", false, fmt.Errorf("%q is not an http(s) URL without a path (such as https://s3.amazonaws.com)", raw)
	}
	return u.Host, u.Scheme == "https", nil
}

// Store is a sqldb.Blobs on one bucket and prefix. It is safe for
// concurrent use.
type Store struct {
	client *minio.Client
	bucket string
	prefix string
}

var _ sqldb.Blobs = (*Store)(nil)

// Open makes the client and checks the bucket exists, so a wrong name or
// credential fails at start rather than at the first photo.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	bucket, prefix, err := ParseURL(cfg.URL)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	host, secure, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint: %w", err)
	}
	opts := &minio.Options{Secure: secure, Region: cfg.Region, Transport: cfg.Transport}
	if cfg.AccessKey != "" || cfg.SecretKey != "" {
		opts.Creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	}
	client, err := minio.New(host, opts)
	if err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	ok, err := client.BucketExists(ctx, bucket)
	if err != nil {
		return nil, fmt.Errorf("s3: bucket %s: %w", bucket, err)
	}
	if !ok {
		return nil, fmt.Errorf("s3: bucket %s does not exist", bucket)
	}
	return &Store{client: client, bucket: bucket, prefix: prefix}, nil
}

// key names the object of a photo's variant.
func (s *Store) key(photoID int64, v sqldb.Variant) string {
	name := strconv.FormatInt(photoID, 10)
	if v == sqldb.Thumb {
		name = "thumbs/" + name
	}
	if s.prefix == "" {
		return name
	}
	return s.prefix + "/" + name
}

// variantKnown refuses a variant this store has no names for.
func variantKnown(v sqldb.Variant) error {
	if v != sqldb.Original && v != sqldb.Thumb {
		return fmt.Errorf("s3: unknown photo variant %q", v)
	}
	return nil
}

// Put writes the object at once (tx is not used): a PUT replaces what is there.
func (s *Store) Put(ctx context.Context, _ *sqlx.Tx, photoID int64, v sqldb.Variant, data []byte) error {
	if err := variantKnown(v); err != nil {
		return err
	}
	_, err := s.client.PutObject(ctx, s.bucket, s.key(photoID, v), bytes.NewReader(data), int64(len(data)),
		minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("s3: put %s of photo %d: %w", v, photoID, err)
	}
	return nil
}

// Get reads the object; flows.ErrNotFound when there is none.
func (s *Store) Get(ctx context.Context, photoID int64, v sqldb.Variant) ([]byte, error) {
	if err := variantKnown(v); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, s.key(photoID, v), minio.GetObjectOptions{})
	if err == nil {
		defer obj.Close()
		var data []byte
		if data, err = io.ReadAll(obj); err == nil {
			return data, nil
		}
	}
	if minio.ToErrorResponse(err).Code == minio.NoSuchKey {
		return nil, fmt.Errorf("s3: %s of photo %d: %w", v, photoID, flows.ErrNotFound)
	}
	return nil, fmt.Errorf("s3: get %s of photo %d: %w", v, photoID, err)
}

// Delete removes both objects of each photo at once (tx is not used);
// missing objects are no error (S3 says so itself).
func (s *Store) Delete(ctx context.Context, _ *sqlx.Tx, photoIDs []int64) error {
	for _, id := range photoIDs {
		for _, v := range []sqldb.Variant{sqldb.Original, sqldb.Thumb} {
			if err := s.client.RemoveObject(ctx, s.bucket, s.key(id, v), minio.RemoveObjectOptions{}); err != nil {
				return fmt.Errorf("s3: delete %s of photo %d: %w", v, id, err)
			}
		}
	}
	return nil
}

// Ping checks the bucket is reachable (readiness).
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.BucketExists(ctx, s.bucket); err != nil {
		return fmt.Errorf("s3: %w", err)
	}
	return nil
}
