import './style.css'
import logo from './logo.svg'

document.querySelector('#app').innerHTML = `<img src="${logo}" alt="logo"><h1>Deployed with vite-deploy</h1><button id="more">More</button>`
document.querySelector('#more').addEventListener('click', async () => {
  const { details } = await import('./details.js')
  document.querySelector('#app').insertAdjacentHTML('beforeend', details())
})
