package workbook

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"time"

	"gridbot/flows"
)

// ContentType is the media type of a workbook.
const ContentType = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

// Build loads month m and writes its whole workbook into memory, so a web
// handler answers an error rather than sending half a file.
func Build(ctx context.Context, src Source, m flows.Month, loc *time.Location, h Heading) ([]byte, error) {
	d, err := Load(ctx, src, m, loc, h)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := Write(&buf, d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Disposition is the Content-Disposition of month m's workbook download:
// assessment-YYYY-MM.xlsx, and 考核-YYYY-MM.xlsx for browsers that take
// a UTF-8 name.
func Disposition(m flows.Month) string {
	return fmt.Sprintf(`attachment; filename="assessment-%s.xlsx"; filename*=UTF-8''%s`, m, url.PathEscape("考核-"+m.String()+".xlsx"))
}
