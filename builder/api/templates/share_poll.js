// Polls ./status (relative to the page's own path, so the token is never written into the script) and swaps in the
// app's iframe once it answers; while Forja runs as many shared apps as it may, it says so and asks less often.
// __SANDBOX__ is the iframe's sandbox, filled in by share_pages.py.
(function(){
  var statusUrl = location.pathname.replace(/\/+$/, '') + '/status';
  var heading = document.getElementById('heading');
  var text = document.getElementById('state');
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
      if (s.state === 'failed') { text.textContent = 'This app could not start. Try again later.'; return; }
      if (s.state === 'gone') { text.textContent = s.detail || 'This link no longer works.'; return; }
      if (s.state === 'busy') {
        heading.textContent = 'This app is busy';
        text.textContent = s.detail;
        setTimeout(poll, 5000);
        return;
      }
      heading.textContent = 'Starting the app...';
      setTimeout(poll, 400);
    }).catch(function(){ setTimeout(poll, 1000); });
  }
  setTimeout(poll, 400);
})();
