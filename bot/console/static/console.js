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
