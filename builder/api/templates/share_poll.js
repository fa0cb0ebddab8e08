// Polls ./status (relative to the page's own path, so the token is never written into the script) and swaps in the
// app's iframe once it answers; while Forja runs as many shared apps as it may, it says so and asks less often. Past
// the preview's start deadline (data-deadline-s, FORJA_PREVIEW_START_TIMEOUT_S) it says the app could not start, and
// asks less often, still showing the app if it comes.
// __SANDBOX__ is the iframe's sandbox, filled in by share_pages.py.
(function(){
  var statusUrl = location.pathname.replace(/\/+$/, '') + '/status';
  var heading = document.getElementById('heading');
  var text = document.getElementById('state');
  var spinner = document.getElementById('spinner');
  var deadlineS = Number(document.getElementById('main').dataset.deadlineS) || 300;
  var deadline = Date.now() + 1000 * deadlineS;
  function stopped(title, words){
    heading.textContent = title;
    text.textContent = words;
    if (spinner) spinner.hidden = true;
  }
  function show(url){
    if (!/^https?:\/\//.test(url)) return;
    var frame = document.createElement('iframe');
    frame.className = 'app';
    frame.title = 'App';
    frame.setAttribute('sandbox', '__SANDBOX__');
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.src = url;
    var main = document.getElementById('main');
    main.replaceChildren(frame);
  }
  function poll(){
    fetch(statusUrl, {cache: 'no-store'}).then(function(r){ return r.json(); }).then(function(s){
      if (s.state === 'running' && s.url) { show(s.url); return; }
      if (s.state === 'failed') { stopped('This app could not start', 'Try again later, or ask the person who sent the link.'); return; }
      if (s.state === 'gone') { stopped('This link no longer works', s.detail || 'Ask the person who sent it for a new one.'); return; }
      if (s.state === 'busy') {
        heading.textContent = 'This app is busy';
        text.textContent = s.detail;
        setTimeout(poll, 5000);
        return;
      }
      if (Date.now() > deadline) {
        var minutes = Math.round(deadlineS / 60);
        var waited = deadlineS < 120 ? deadlineS + ' seconds' : minutes + ' minutes';
        stopped('This app could not start', 'It did not start within ' + waited + '. Try again later, or ask the person who sent the link.');
        setTimeout(poll, 5000);
        return;
      }
      heading.textContent = 'Starting the app...';
      setTimeout(poll, 400);
    }).catch(function(){ setTimeout(poll, 1000); });
  }
  setTimeout(poll, 400);
})();
