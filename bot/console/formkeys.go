package console

import (
	"crypto/rand"
	"errors"
	"strings"

	"github.com/gin-gonic/gin"

	"gridbot/flows"
)

// A form that creates a notice or a project carries a key of its own, a
// hidden field made when the form is first shown and kept while it is
// shown again (a refusal, a preview). The store creates nothing for a key
// it has seen (flows.ErrAlreadyCreated): a double click on 发送, or the
// browser sending the form again, leads to what the first send created
// instead of notifying every member twice.

// formKeyOf is the key the posted form carries, or a new one when it
// carries none that could be ours (a page from before keys, a hand-made
// request), so the form shown again is keyed from then on.
func formKeyOf(ctx *gin.Context) string {
	if k := ctx.PostForm("form_key"); isFormKey(k) {
		return k
	}
	return rand.Text()
}

// isFormKey reports whether k has the shape of rand.Text: 26 characters
// of the base32 alphabet.
func isFormKey(k string) bool {
	return len(k) == 26 && strings.Trim(k, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") == ""
}

// storedFormKey is the key a create stores for the form key k: the admin's
// own, so no one's form can lead to what another admin created. It leaves
// the form's fields out: the form sent again after an edit (back, change,
// 发送) still created its notice, and its page says nothing more was sent.
func storedFormKey(ctx *gin.Context, k string) string {
	return flows.FormKeyOf("console", adminOf(ctx).Username, k)
}

// sentBefore is what the form of key k created of kind, found true, when
// it was sent before: asked before the form is checked, so the form sent
// again leads to what it created even once its send time has passed.
func (c *Console) sentBefore(ctx *gin.Context, kind, k string) (flows.FormCreated, bool, error) {
	done, err := c.cfg.Store.CreatedByForm(ctx.Request.Context(), kind, storedFormKey(ctx, k), "")
	if errors.Is(err, flows.ErrNotFound) {
		return done, false, nil
	}
	return done, err == nil, err
}
