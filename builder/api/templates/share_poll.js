// Polls ./status (relative to the page's own path, so the token is never written into the script) and swaps in the
// app's iframe once it answers. __SANDBOX__ is the iframe's sandbox, filled in by share_pages.py.
(function(){
  var statusUrl = location.pathname.replace(/\/+$/, '') + '/status';
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
      setTimeout(poll, 400);
    }).catch(function(){ setTimeout(poll, 1000); });
  }
  setTimeout(poll, 400);
})();
