#include "app.hpp"

int main(int argc, char** argv) {
  return crest::storefront::main(argc, argv);
}
