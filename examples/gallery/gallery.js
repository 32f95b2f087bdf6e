// The gallery lists the images, newest first. Each is a <picture>: AVIF and WebP <source>s and the JPEG
// <img>, each with its thumbnails in srcset by width, and sizes says how wide the grid draws it, so the
// browser fetches the smallest file, in the best format it decodes, that is sharp enough for this
// screen. New uploads, from this page or anywhere else, arrive through the Server-Sent Events stream /events.
const gallery = document.getElementById('gallery');
const status = document.getElementById('status');
const progress = document.getElementById('progress');
const results = document.getElementById('results');
const announce = document.getElementById('announce');
const empty = document.getElementById('empty');
const describe = image => `${image.size[0]}×${image.size[1]} photo, uploaded ${image.modified}`;
const showEmpty = () => { empty.hidden = gallery.childElementCount > 0; };
// One line per file of a drop, so the result of each stays readable.
const result = text => { const item = document.createElement('li'); item.textContent = text; results.append(item); };
// How wide gallery.css draws a picture: 1 to 4 columns at these breakpoints, 1.5rem of padding each side
// and 1rem between columns. Keep the two in step, or the browser fetches a size the page does not need.
const drawnWidth = '(max-width: 640px) calc(100vw - 3rem), (max-width: 1024px) calc((100vw - 4rem) / 2), ' +
  '(max-width: 1440px) calc((100vw - 5rem) / 3), calc((100vw - 6rem) / 4)';

// The delete tokens of the images uploaded from this browser: only those get a Delete button.
const tokens = JSON.parse(localStorage.getItem('asgilook-delete-tokens') || '{}');
const saveTokens = () => localStorage.setItem('asgilook-delete-tokens', JSON.stringify(tokens));
let uploadKey = localStorage.getItem('asgilook-upload-key');
const keyForm = document.getElementById('key-form');
let keyEntered = null;
keyForm.addEventListener('submit', event => {
  event.preventDefault();
  uploadKey = document.getElementById('upload-key').value;
  localStorage.setItem('asgilook-upload-key', uploadKey);
  keyForm.hidden = true;
  keyEntered?.();
  showUsage();
});
// What the upload key stores, beside its quotas (GET /usage), once this browser has a key.
const usage = document.getElementById('usage');
async function showUsage() {
  if (!uploadKey) return;
  const response = await fetch('/usage', { headers: { Authorization: `Bearer ${uploadKey}` } });
  if (!response.ok) { usage.hidden = true; return; }
  const { images, bytes, limits } = await response.json();
  const mib = n => (n / 1048576).toFixed(1);
  usage.textContent = `Your upload key stores ${images}${limits.images ? ` of ${limits.images}` : ''} images, ` +
    `${mib(bytes)}${limits.bytes ? ` of ${mib(limits.bytes)}` : ''} MiB.`;
  usage.hidden = false;
}
showUsage();
const problemOf = request => { try { return JSON.parse(request.responseText).detail; } catch { return request.statusText; } };
const sleep = seconds => new Promise(resolve => setTimeout(resolve, seconds * 1000));

function show(image, newest) {
  const shown = document.getElementById('image-' + image.id);
  if (shown) {
    // /events may have shown it before its upload's answer brought the token.
    if (tokens[image.id] && !shown.querySelector('button')) shown.querySelector('figcaption').append(deleteButton(image));
    return;
  }
  const [width, height] = image.size;
  const picture = document.createElement('picture');
  const sources = image.sources || {};
  // An animated image moves only in its WebP thumbnails (its AVIF and JPEG are its first frame): no AVIF source for it.
  for (const type of image.animated ? ['image/webp'] : ['image/avif', 'image/webp']) {
    if (!sources[type] || !sources[type].length) continue;
    const source = document.createElement('source');
    source.type = type;
    source.srcset = sources[type].map(thumbnail => `${thumbnail.uri} ${thumbnail.width}w`).join(', ');
    source.sizes = drawnWidth;
    picture.append(source);
  }
  // The JPEG <img>: its thumbnails, and the original for screens wider than the largest.
  const candidates = image.thumbnails.map(uri => `${uri} ${parseInt(uri.split('/').pop(), 10)}w`);
  candidates.push(`${image.image} ${width}w`);
  const img = document.createElement('img');
  img.srcset = candidates.join(', ');
  img.sizes = drawnWidth;
  img.src = image.thumbnails.length ? image.thumbnails[image.thumbnails.length - 1] : image.image;
  img.width = width;
  img.height = height;
  img.loading = 'lazy';
  img.alt = `A ${describe(image)}`;
  // Painted at once from the JSON, until the thumbnail arrives: the image's average colour, and over it
  // its tiny blurred preview (a data: URI).
  if (image.placeholder) {
    img.style.backgroundColor = image.placeholder.colour;
    img.style.backgroundImage = `url("${image.placeholder.preview}")`;
    img.style.backgroundSize = 'cover';
    img.addEventListener('load', () => { img.style.backgroundImage = 'none'; }, { once: true });
  }
  picture.append(img);

  const link = document.createElement('a');
  link.href = image.image;
  link.append(picture);
  const caption = document.createElement('figcaption');
  const about = document.createElement('span');
  about.textContent = `${width}×${height} · ${image.modified}`;
  caption.append(about);
  if (tokens[image.id]) caption.append(deleteButton(image));
  const figure = document.createElement('figure');
  figure.id = 'image-' + image.id;
  figure.append(link, caption);
  if (newest) gallery.prepend(figure); else gallery.append(figure);
  showEmpty();
}

function deleteButton(image) {
  const button = document.createElement('button');
  button.textContent = 'Delete';
  button.setAttribute('aria-label', `Delete the ${image.size[0]}×${image.size[1]} image uploaded ${image.modified}`);
  button.addEventListener('click', async () => {
    const response = await fetch(image.image, { method: 'DELETE', headers: { Authorization: `Bearer ${tokens[image.id]}` } });
    if (response.status === 204 || response.status === 404) {
      delete tokens[image.id];
      saveTokens();
      document.getElementById('image-' + image.id)?.remove();
      showEmpty();
      status.textContent = 'Deleted.';
      showUsage();
    } else {
      let reason = response.statusText;
      try { reason = (await response.json()).detail || reason; } catch { }
      status.textContent = `Could not delete: ${reason}`;
    }
  });
  return button;
}

// One attempt; on a 429 the caller waits the Retry-After it names and tries again.
function send(file) {
  return new Promise(resolve => {
    const request = new XMLHttpRequest();
    request.open('POST', '/images');
    if (uploadKey) request.setRequestHeader('Authorization', `Bearer ${uploadKey}`);
    request.upload.onprogress = event => {
      if (event.lengthComputable) { progress.hidden = false; progress.value = event.loaded / event.total; }
    };
    request.onload = () => { progress.hidden = true; resolve(request); };
    request.onerror = () => { progress.hidden = true; resolve(null); };
    request.send(file);
  });
}

async function upload(file, position, count) {
  while (true) {
    const request = await send(file);
    if (request === null) { status.textContent = `${file.name} could not be sent.`; result(`${file.name}: could not be sent`); return; }
    if (request.status === 201) {
      const image = JSON.parse(request.responseText);
      tokens[image.id] = image.delete_token;
      saveTokens();
      show(image, true); // /events brings it too; show() adds each image once
      status.textContent = `Uploaded ${file.name} (${position} of ${count}).`;
      result(`${file.name}: uploaded`);
      showUsage();
      return;
    }
    if (request.status === 429) {
      const wait = parseInt(request.getResponseHeader('Retry-After'), 10) || 1;
      status.textContent = `Waiting ${wait} s before ${file.name} (${position} of ${count}): this service takes only so many uploads a minute.`;
      await sleep(wait);
      continue;
    }
    if (request.status === 401) {
      status.textContent = problemOf(request);
      keyForm.hidden = false;
      document.getElementById('upload-key').focus();
      await new Promise(resolve => keyEntered = resolve);
      continue;
    }
    status.textContent = `${file.name} was refused: ${problemOf(request)}`;
    result(`${file.name}: refused: ${problemOf(request)}`);
    return;
  }
}

// Uploads one after the other, so a drop of 200 photos arrives whole, rate limit or not.
let queue = Promise.resolve();
function uploadAll(files) {
  files.forEach((file, index) => { queue = queue.then(() => upload(file, index + 1, files.length)); });
}

// The list, newest first, a page at a time: the first on load, the next (its Link rel="next") when the
// reader scrolls near the end. A failure says the problem's detail rather than throwing.
const pageSize = 24;
const firstPage = `/images?order=newest&limit=${pageSize}`;
let nextPage = null;
async function load(uri) {
  const response = await fetch(uri);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.detail || response.statusText);
  const next = /<([^>]+)>;\s*rel="next"/.exec(response.headers.get('Link') || '');
  return { images: body, next: next ? next[1] : null };
}
const sentinel = document.getElementById('more');
let loading = false;
async function loadMore() {
  if (loading || !nextPage) return;
  loading = true;
  try {
    const page = await load(nextPage);
    page.images.forEach(image => show(image, false));
    nextPage = page.next;
  } catch (error) {
    status.textContent = `Could not list more images: ${error.message}`;
    nextPage = null;
  } finally {
    loading = false;
  }
  loadWhileInView();
}
// The observer speaks when the end comes into view; a page too short to scroll is filled here.
const loadWhileInView = () => { if (nextPage && sentinel.getBoundingClientRect().top < innerHeight + 400) loadMore(); };
new IntersectionObserver(entries => { if (entries.some(entry => entry.isIntersecting)) loadMore(); }, { rootMargin: '400px' }).observe(sentinel);

const events = new EventSource('/events');
events.addEventListener('image', event => {
  const image = JSON.parse(event.data);
  if (!document.getElementById('image-' + image.id)) announce.textContent = `A new ${describe(image)}.`;
  show(image, true);
});
events.addEventListener('deleted', event => {
  const id = JSON.parse(event.data).id;
  document.getElementById('image-' + id)?.remove();
  showEmpty();
  if (tokens[id]) { delete tokens[id]; saveTokens(); }
});
// EventSource reconnects by itself after a cut; what was uploaded meanwhile is caught up from the list.
let disconnected = false;
events.addEventListener('error', () => { disconnected = true; document.body.dataset.live = 'false'; });
events.addEventListener('open', () => {
  document.body.dataset.live = 'true';
  if (!disconnected) return;
  disconnected = false;
  load(firstPage).then(page => page.images.reverse().forEach(image => show(image, true))).catch(error => { status.textContent = `Could not catch up: ${error.message}`; });
});

load(firstPage)
  .then(page => { page.images.forEach(image => show(image, false)); nextPage = page.next; showEmpty(); loadWhileInView(); })
  .catch(error => { status.textContent = `Could not list the images: ${error.message}`; });

document.getElementById('choose').addEventListener('click', () => document.getElementById('files').click());
document.getElementById('files').addEventListener('change', event => uploadAll([...event.target.files]));
document.addEventListener('dragover', event => { event.preventDefault(); document.body.classList.add('dragging'); });
document.addEventListener('dragleave', () => document.body.classList.remove('dragging'));
document.addEventListener('drop', event => {
  event.preventDefault();
  document.body.classList.remove('dragging');
  uploadAll([...event.dataTransfer.files]);
});
