// Asks before forms marked data-confirm are sent (unbinding a member).
document.addEventListener('submit', function (e) {
  var msg = e.target.getAttribute && e.target.getAttribute('data-confirm');
  if (msg && !window.confirm(msg)) {
    e.preventDefault();
  }
});

// Prints the page from buttons marked data-print (the monthly packet).
document.addEventListener('click', function (e) {
  if (e.target.closest && e.target.closest('[data-print]')) {
    window.print();
  }
});

// Marks a table box that is wider than the screen, so it shows its
// "swipe for more" cue.
function markWide() {
  document.querySelectorAll('.scroll').forEach(function (box) {
    box.classList.toggle('more', box.scrollWidth > box.clientWidth + 1);
  });
}
document.addEventListener('DOMContentLoaded', markWide);
window.addEventListener('resize', markWide);

// A refused form's answer takes its page's address, so reloading shows
// the page instead of sending the form again.
if (document.body && document.body.dataset.back) {
  history.replaceState(null, '', document.body.dataset.back);
}
