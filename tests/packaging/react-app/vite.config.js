// Two pages: the README's app (index.html) and the binding against a scripted client (fake.html).
export default { build: { rollupOptions: { input: { main: 'index.html', fake: 'fake.html' } } } };
