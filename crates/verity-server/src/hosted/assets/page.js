(() => {
  'use strict';
  const cfg = JSON.parse(document.getElementById('config').textContent);
  const TEXTS = JSON.parse(document.getElementById('texts').textContent);
  const $ = (id) => document.getElementById(id);
  let lang = cfg.lang;
  const t = (k, vars) => {
    let s = (TEXTS[lang] && TEXTS[lang][k]) || TEXTS.en[k] || k;
    for (const [name, v] of Object.entries(vars || {})) s = s.split('{' + name + '}').join(v);
    return s;
  };
  const say = (msg) => { const l = $('live'); l.textContent = ''; setTimeout(() => { l.textContent = msg; }, 30); };

  // ---------------------------------------------------------------- language
  function applyTexts() {
    document.documentElement.lang = lang;
    document.documentElement.dir = lang === 'ar' ? 'rtl' : 'ltr';
    document.querySelectorAll('[data-t]').forEach((el) => { el.textContent = t(el.dataset.t); });
    if (cfg.intro_text) $('intro-text').textContent = cfg.intro_text;
    $('privacy').textContent = t('privacy', { days: cfg.retention_days });
    $('fallback-help').textContent = t('fallback_help', { list: cfg.challenges.map((c) => t('prompt_' + c)).join(', ') });
    document.title = cfg.title;
  }
  const sel = $('lang');
  if (cfg.languages.length < 2) $('lang-wrap').hidden = true;
  for (const l of cfg.languages) {
    const o = document.createElement('option');
    o.value = l; o.textContent = TEXTS[l].language_name; o.selected = l === lang;
    sel.appendChild(o);
  }
  sel.addEventListener('change', () => { lang = sel.value; applyTexts(); });

  // ---------------------------------------------------------------- screens
  const screens = ['intro', 'selfie', 'document', 'upload', 'result', 'problem'];
  function show(name) {
    for (const s of screens) $(s).hidden = s !== name;
    const step = { selfie: 1, document: 2, upload: 3, result: 3 }[name] || 0;
    $('steps').hidden = !step;
    for (let i = 1; i <= 3; i++) {
      const li = $('step-' + i);
      li.className = i < step ? 'done' : i === step ? 'on' : '';
      if (i === step) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
    }
    const h = document.querySelector('#' + name + ' h1, #' + name + ' h2');
    if (h) h.focus();
  }
  function problem(msg, retry) {
    $('problem-text').textContent = msg;
    $('problem-retry').onclick = retry;
    show('problem');
  }

  // ---------------------------------------------------------------- intro
  if (cfg.cancel_url) {
    const a = $('cancel'); a.hidden = false; a.href = cfg.cancel_url; a.rel = 'noreferrer';
  }
  $('start').addEventListener('click', () => { show('selfie'); startCamera(); });

  // ---------------------------------------------------------------- selfie video
  const state = { stream: null, video: null, videoName: 'selfie.webm', prompts: [], front: null, back: null };
  const mime = (() => {
    if (!window.MediaRecorder || !MediaRecorder.isTypeSupported) return '';
    // iOS Safari records only MP4; Chrome and Firefox WebM. MP4 first where it is supported.
    return ['video/mp4;codecs=avc1', 'video/mp4', 'video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm']
      .find((m) => MediaRecorder.isTypeSupported(m)) || '';
  })();

  function stopCamera() {
    if (state.stream) state.stream.getTracks().forEach((tr) => tr.stop());
    state.stream = null;
  }

  function cameraProblem(key, detail) {
    // What the browser said, for support (shown to nobody).
    $('selfie-status').dataset.problem = key + (detail ? ': ' + detail : '');
    $('selfie-status').textContent = t(key);
    $('selfie-status').className = 'status alert';
    // No picture to show: the message and the way around it come first.
    $('stage').hidden = true;
    $('fallback').hidden = false;
    $('record').disabled = true;
    $('record').hidden = true;
    say(t(key));
  }

  async function startCamera() {
    $('fallback').hidden = true;
    $('stage').hidden = false;
    $('selfie-status').className = 'status';
    $('selfie-status').textContent = t('camera_starting');
    const policy = document.permissionsPolicy || document.featurePolicy;
    if (policy && policy.allowsFeature && !policy.allowsFeature('camera')) return cameraProblem('err_iframe');
    if (!window.isSecureContext) return cameraProblem('err_insecure');
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return cameraProblem('err_no_camera', 'no mediaDevices');
    if (!mime) return cameraProblem('err_recorder');
    try {
      state.stream = await navigator.mediaDevices.getUserMedia({
        audio: false,
        video: { facingMode: 'user', width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 } },
      });
    } catch (e) {
      const inFrame = window.self !== window.top;
      const why = e ? e.name + ' ' + e.message : '';
      if (e && e.name === 'NotAllowedError') return cameraProblem(inFrame ? 'err_iframe' : 'err_denied', why);
      if (e && (e.name === 'NotFoundError' || e.name === 'OverconstrainedError')) return cameraProblem('err_no_camera', why);
      if (e && e.name === 'SecurityError') return cameraProblem(inFrame ? 'err_iframe' : 'err_insecure', why);
      return cameraProblem('err_camera', why);
    }
    const v = $('preview');
    v.srcObject = state.stream;
    v.hidden = false; $('replay').hidden = true;
    try { await v.play(); } catch (_) { /* autoplay of a muted stream is allowed */ }
    $('record').disabled = false; $('record').hidden = false;
    $('use-video').hidden = true; $('retake').hidden = true;
    $('selfie-status').textContent = t('camera_ready');
    say(t('camera_ready'));
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const ARROWS = { turn_left: '←', turn_right: '→', look_up: '↑', look_down: '↓', smile: '☺', move_closer: '⇔' };

  async function record() {
    if (!state.stream) return;
    $('record').disabled = true;
    const count = $('count');
    count.classList.add('on');
    say(t('get_ready'));
    for (const n of [3, 2, 1]) { count.textContent = String(n); await sleep(1000); }
    count.classList.remove('on');
    const chunks = [];
    let rec;
    try {
      rec = new MediaRecorder(state.stream, { mimeType: mime, videoBitsPerSecond: 1000000 });
    } catch (_) {
      return cameraProblem('err_recorder');
    }
    rec.ondataavailable = (e) => { if (e.data && e.data.size) chunks.push(e.data); };
    const stopped = new Promise((r) => { rec.onstop = r; });
    const total = cfg.record_ms;
    const n = cfg.challenges.length;
    const slot = (total - 1000) / n;
    state.prompts = [];
    rec.start(250);
    const t0 = performance.now();
    $('rec').hidden = false; $('timer').hidden = false;
    $('selfie-status').textContent = t('recording') + '…';
    const fill = $('timer-fill');
    const tick = setInterval(() => {
      fill.style.width = Math.min(100, ((performance.now() - t0) / total) * 100) + '%';
    }, 100);
    for (let i = 0; i < n; i++) {
      const due = 500 + i * slot;
      const wait = due - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
      const name = cfg.challenges[i];
      state.prompts.push({ name, shown_at_ms: Math.round(performance.now() - t0) });
      $('arrow').textContent = ARROWS[name] || '';
      $('prompt-text').textContent = t('prompt_' + name);
      $('prompt').classList.add('on');
      say(t('prompt_' + name));
    }
    const left = total - (performance.now() - t0);
    if (left > 0) await sleep(left);
    rec.stop();
    await stopped;
    clearInterval(tick);
    $('prompt').classList.remove('on'); $('rec').hidden = true; $('timer').hidden = true;
    const type = (rec.mimeType || mime).split(';')[0];
    state.video = new Blob(chunks, { type });
    state.videoName = type.indexOf('mp4') >= 0 ? 'selfie.mp4' : 'selfie.webm';
    const replay = $('replay');
    replay.src = URL.createObjectURL(state.video);
    replay.hidden = false; $('preview').hidden = true;
    $('record').hidden = true; $('use-video').hidden = false; $('retake').hidden = false;
    $('selfie-status').textContent = t('recorded');
    say(t('recorded'));
    $('use-video').focus();
  }

  $('record').addEventListener('click', record);
  $('retake').addEventListener('click', () => { $('preview').hidden = false; $('replay').hidden = true; startCamera(); });
  $('retry-camera').addEventListener('click', startCamera);
  $('use-video').addEventListener('click', () => { stopCamera(); show('document'); });
  $('video-file').addEventListener('change', (e) => {
    const f = e.target.files && e.target.files[0];
    if (!f) return;
    if (f.size > cfg.max_video_bytes) { $('selfie-status').textContent = t('too_large'); return; }
    state.video = f; state.videoName = f.name || 'selfie.mp4';
    // A video recorded elsewhere: the prompts were read before recording, not timed.
    state.prompts = cfg.challenges.map((name) => ({ name, shown_at_ms: 0 }));
    say(t('video_chosen'));
    stopCamera();
    show('document');
  });

  // ---------------------------------------------------------------- document photo
  // Quick hints on the device (the server runs the real checks): sharpness as the variance of
  // the Laplacian, glare as the share of saturated pixels, darkness as the mean brightness.
  function quality(img) {
    const scale = Math.min(1, 640 / Math.max(img.naturalWidth, img.naturalHeight));
    const w = Math.max(1, Math.round(img.naturalWidth * scale));
    const h = Math.max(1, Math.round(img.naturalHeight * scale));
    const c = document.createElement('canvas');
    c.width = w; c.height = h;
    const ctx = c.getContext('2d');
    ctx.drawImage(img, 0, 0, w, h);
    const d = ctx.getImageData(0, 0, w, h).data;
    const g = new Float32Array(w * h);
    let sum = 0, bright = 0;
    for (let i = 0, p = 0; i < d.length; i += 4, p++) {
      g[p] = 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
      sum += g[p];
      if (d[i] > 250 && d[i + 1] > 250 && d[i + 2] > 250) bright++;
    }
    let n = 0, m = 0, m2 = 0;
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) {
        const p = y * w + x;
        const lap = 4 * g[p] - g[p - 1] - g[p + 1] - g[p - w] - g[p + w];
        n++; m += lap; m2 += lap * lap;
      }
    }
    const variance = n ? m2 / n - (m / n) * (m / n) : 0;
    return { small: Math.max(img.naturalWidth, img.naturalHeight) < 800, blur: variance < 40, glare: bright / (w * h) > 0.04, dark: sum / (w * h) < 55 };
  }

  function takePhoto(side, file) {
    if (!file) return;
    const hint = $(side + '-hint');
    if (file.size > cfg.max_photo_bytes) { hint.textContent = t('too_large'); hint.className = 'hint warn'; return; }
    state[side] = file;
    const img = $(side + '-img');
    img.onload = () => {
      let q = null;
      try { q = quality(img); } catch (_) { /* an image the canvas cannot read: the server decides */ }
      const key = !q ? 'hint_ok' : q.dark ? 'hint_dark' : q.glare ? 'hint_glare' : q.blur ? 'hint_blur' : q.small ? 'hint_small' : 'hint_ok';
      hint.textContent = t(key);
      hint.className = 'hint ' + (key === 'hint_ok' ? 'ok' : 'warn');
      say(t(key));
    };
    img.src = URL.createObjectURL(file);
    img.alt = t(side === 'front' ? 'front_side' : 'back_side');
    img.hidden = false;
    $('submit').disabled = !state.front || !state.video;
  }
  $('front-camera').addEventListener('change', (e) => takePhoto('front', e.target.files[0]));
  $('front-file').addEventListener('change', (e) => takePhoto('front', e.target.files[0]));
  $('back-file').addEventListener('change', (e) => takePhoto('back', e.target.files[0]));
  $('doctype').addEventListener('change', () => { $('back-side').hidden = $('doctype').value === 'passport'; });
  $('back-to-selfie').addEventListener('click', () => { show('selfie'); startCamera(); });

  // ---------------------------------------------------------------- upload and result
  function submit() {
    const form = new FormData();
    form.append('session', cfg.token);
    form.append('liveness_prompts', JSON.stringify(state.prompts));
    if ($('doctype').value) form.append('document_type', $('doctype').value);
    form.append('selfie_video', state.video, state.videoName);
    form.append('id_photo', state.front, state.front.name || 'id.jpg');
    if (state.back && $('doctype').value !== 'passport') form.append('id_photo_back', state.back, state.back.name || 'id_back.jpg');
    show('upload');
    const bar = $('progress');
    bar.value = 0;
    let lastSaid = -1;
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/verif/submit');
    xhr.responseType = 'json';
    xhr.upload.onprogress = (e) => {
      if (!e.lengthComputable) return;
      const pct = Math.round((e.loaded / e.total) * 100);
      bar.value = pct;
      $('upload-status').textContent = t('uploading', { pct });
      if (pct >= lastSaid + 25) { lastSaid = pct; say(t('uploading', { pct })); }
    };
    xhr.upload.onload = () => { $('upload-status').textContent = t('processing'); say(t('processing')); };
    xhr.onerror = () => problem(t('err_generic'), submit);
    xhr.onload = () => {
      const body = xhr.response || {};
      if (xhr.status >= 200 && xhr.status < 300 && body.success) return result(body);
      const closed = ['session_used', 'session_expired', 'session_not_found'].indexOf(body.code) >= 0;
      const msg = closed ? t(body.code.replace('session_', 'closed_').replace('not_found', 'unknown')) : (body.message || body.error || t('err_generic'));
      problem(msg, closed ? () => problem(msg, null) : () => show(body.param === 'selfie_video' ? 'selfie' : 'document'));
      if (closed) $('problem-retry').hidden = true;
    };
    xhr.send(form);
  }
  $('submit').addEventListener('click', submit);

  function result(body) {
    const r = body.result || {};
    const status = r.status;
    const badge = $('badge');
    let head, text, cls, mark;
    if (status === 'verified') { head = 'res_verified'; text = 'res_verified_text'; cls = 'ok'; mark = '✓'; }
    else if (status === 'rejected' && !body.retryable) { head = 'res_rejected'; text = 'res_rejected_text'; cls = 'no'; mark = '✕'; }
    else if (body.retryable) { head = 'res_rejected'; text = 'res_retry_text'; cls = 'wait'; mark = '!'; }
    else if (status === 'pending') { head = 'res_review'; text = 'res_pending_text'; cls = 'wait'; mark = '…'; }
    else { head = 'res_review'; text = 'res_review_text'; cls = 'wait'; mark = '…'; }
    badge.className = 'badge ' + cls; badge.textContent = mark;
    $('result').dataset.status = status || '';
    $('result-h').textContent = t(head);
    $('result-text').textContent = t(text);
    $('again').hidden = !body.retryable;
    $('again').onclick = () => { state.video = null; state.front = null; state.back = null; $('front-img').hidden = true; $('back-img').hidden = true; $('submit').disabled = true; show('selfie'); startCamera(); };
    if (cfg.success_url) {
      const c = $('continue');
      c.hidden = false;
      c.onclick = () => {
        const u = new URL(cfg.success_url);
        u.searchParams.set('check_id', body.check_id);
        u.searchParams.set('status', status);
        window.location.assign(u.toString());
      };
    }
    show('result');
    say(t(head) + '. ' + t(text));
  }

  applyTexts();
  show('intro');
})();
