// Focus after mounting: the interface focuses its main control, but the router may focus the page once more
// when its render() returns; give the control the focus back then, unless the annotator moved it on purpose.

/** Focus with `go()` now and once more after the current turn, if focus then sits on the page itself. */
export function focusSoon(el, go) {
  go();
  setTimeout(() => {
    const active = document.activeElement;
    if (el.isConnected && !el.contains(active) && (active === document.body || active?.id === "view")) go();
  });
}
